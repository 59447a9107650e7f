"""Helpers shared by the end-to-end tests: Loom's files on disk, datasets, a closed port."""

from __future__ import annotations

import csv
import json
import socket
import sqlite3
from pathlib import Path

__all__ = ["cached_entries", "closed_port", "fetch_summary", "nasty_items", "read_csv", "read_json", "state_of", "state_path",
           "write_json"]


def state_path(home: Path, batch_id: str) -> Path:
    """The state file of the job that holds ``batch_id`` (as its first or any part's id, or as
    its Loom job id). Jobs Loom submits are named by their job id, ``<provider>_loom-....json``;
    files of the released tool are named by their batch id."""
    for path in sorted((home / "batches").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        ids = {data.get("batch_id"), data.get("job_id")}
        ids.update(part.get("batch_id") for part in data.get("parts", []))
        if batch_id in ids:
            return path
    raise AssertionError(f"no state file holds batch {batch_id}")


def cached_entries(cache: Path) -> list[dict]:
    """Every entry in the response cache folder ``cache``, read with plain SQL (not through
    Loom), with the released tool's field names; [] when there is no cache yet."""
    database = cache / "cache.sqlite3"
    if not database.exists():
        return []
    connection = sqlite3.connect(database)
    try:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT provider, model, response, created_at, params, finish_reason, "
            "input_tokens, output_tokens FROM entries").fetchall()
    finally:
        connection.close()
    return [{k: (json.loads(row[k]) if k == "params" and row[k] else row[k])
             for k in row.keys() if row[k] is not None} for row in rows]


def state_of(home: Path, batch_id: str) -> dict:
    return json.loads(state_path(home, batch_id).read_text(encoding="utf-8"))


def write_json(name: str, items: list[dict]) -> Path:
    path = Path(name)
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def read_json(name: str) -> list[dict]:
    return json.loads(Path(name).read_text(encoding="utf-8"))


def read_csv(name: str) -> list[dict]:
    with open(name, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def nasty_items(ids: list) -> list[dict]:
    """Rows whose ids are awkward to carry through a provider (spaces, unicode, slashes,
    length), plus one integer id."""
    return [{"id": key, "prompt": f"prompt for {key}"} for key in ids] + [
        {"id": 7, "prompt": "numbered row"}]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_summary(model: str, rows: int, answered: list[str], cached: int = 0) -> str:
    """The line ``loom fetch`` prints under a merged batch of ``model`` from the emulator;
    ``answered`` are the prompts whose answers were downloaded (the emulator counts a word
    as a token)."""
    from tests.emulator.replies import count_words, reply_text

    tokens_in = sum(count_words(prompt) for prompt in answered)
    tokens_out = sum(count_words(reply_text(model, prompt)) for prompt in answered)
    done = len(answered) + cached
    return (f"  {rows} rows: {done} answered ({cached} from the cache), {rows - done} errors; "
            f"tokens {tokens_in} in / {tokens_out} out")


def said(error) -> str:
    """A Loom error as the command line words it (its flags for the options the error names),
    without the ``Error:`` opening the CLI adds."""
    from loom_adapters.cli.words import cli_words

    return error.render(cli_words)
