"""A throwaway provider plugin, installed by the tests as a real distribution on sys.path.

It proves a provider can be added without touching ``loom_core`` or the CLI, and gives the tests
providers with the shapes echo lacks: ``keyed`` needs a key, has no batch or tokens, and fails
on chosen prompts; ``tiny`` is a batch API with tiny limits and switches (environment
variables) that crash the process at chosen steps, to test what survives a crash. A ``.crashcsv``
codec crashes while writing an output when ``CRASH_WRITE`` is set.
"""

from __future__ import annotations

import asyncio
import os

import json
import uuid
from pathlib import Path

from loom_core.codecs import CodecSpec
from loom_core.errors import PermanentError
from loom_core.hookspecs import hookimpl
from loom_core.model import BatchLimits, BatchStatus, Completion
from loom_core.ports import BatchFinder, BatchProvider
from loom_core.providers import ProviderSpec


def _log(event: str) -> None:
    log = os.environ.get("TINY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(event + "\n")


class TinyBatch(BatchProvider, BatchFinder):
    """Batches as files under ``$LOOM_HOME/tiny``; at most ``TINY_MAX_REQUESTS`` (3) each.

    ``TINY_STATUS`` is the status every batch reports (default completed; a cancelled batch
    reports cancelled). ``TINY_CRASH=after-accept:N`` ends the process right after the N-th
    batch (0-based) was accepted, before Loom hears its id. Answers are ``tiny: <prompt>``; a
    cancelled batch answered only its first request.
    """

    def __init__(self) -> None:
        self.folder = Path(os.environ["LOOM_HOME"]) / "tiny"
        self.limits = BatchLimits(max_requests=int(os.environ.get("TINY_MAX_REQUESTS", "3")))

    def _path(self, batch_id: str) -> Path:
        return self.folder / f"{batch_id}.json"

    def submit(self, model, requests, settings, metadata):
        self.folder.mkdir(parents=True, exist_ok=True)
        batch_id = f"tiny-{uuid.uuid4().hex[:10]}"
        number = len(list(self.folder.glob("tiny-*.json")))
        self._path(batch_id).write_text(json.dumps({
            "metadata": dict(metadata), "cancelled": False,
            "requests": [[r.custom_id, r.prompt] for r in requests]}))
        _log(f"submit {batch_id} {len(requests)}")
        if os.environ.get("TINY_CRASH") == f"after-accept:{number}":
            os._exit(9)
        return batch_id

    def _load(self, batch_id):
        if not self._path(batch_id).exists():
            raise PermanentError(f"tiny has no batch {batch_id}")
        return json.loads(self._path(batch_id).read_text())

    def status(self, batch_id):
        data = self._load(batch_id)
        if data["cancelled"]:
            return BatchStatus.CANCELLED
        return BatchStatus(os.environ.get("TINY_STATUS", "completed"))

    def results(self, batch_id):
        data = self._load(batch_id)
        _log(f"results {batch_id}")
        requests = data["requests"][:1] if data["cancelled"] else data["requests"]
        for custom_id, prompt in requests:
            yield custom_id, Completion(text=f"tiny: {prompt}")

    def cancel(self, batch_id):
        data = self._load(batch_id)
        data["cancelled"] = True
        self._path(batch_id).write_text(json.dumps(data))

    def find_batch(self, metadata, size, created_after):
        for path in sorted(self.folder.glob("tiny-*.json")):
            data = json.loads(path.read_text())
            if data["metadata"] == dict(metadata):
                return path.stem
        return None

    def close(self):
        pass  # nothing held open between calls


def _crashing_csv():
    from loom_adapters.codecs.csv_codec import CsvCodec

    class CrashingCsv(CsvCodec):
        file_type = "crashcsv"
        suffix = ".crashcsv"
        output_suffix = ".csv"

        def write(self, source, destination, columns, values):
            if os.environ.get("CRASH_WRITE"):
                def crashing(record):
                    if record.index == 1:
                        os._exit(9)
                    return values(record)
                return super().write(source, destination, columns, crashing)
            return super().write(source, destination, columns, values)

    return CrashingCsv()


@hookimpl
def loom_register_codecs(register):
    register(CodecSpec(name="crashcsv", suffixes=(".crashcsv",), factory=_crashing_csv))


class KeyedSync:
    """Answers ``<prompt> (keyed)``; model ``show-key`` answers with the key it was given;
    model ``slow`` takes 0.2 s per answer. Each call is logged to ``$KEYED_CALL_LOG`` if set."""

    def __init__(self, api_key):
        self.api_key = api_key

    async def generate(self, model, prompt, settings):
        log = os.environ.get("KEYED_CALL_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as out:
                out.write(prompt + "\n")
        if model == "slow":
            await asyncio.sleep(0.2)
        if "FAIL" in prompt:
            raise PermanentError(f"refused prompt: {prompt}")
        if model == "show-key":
            return Completion(text=f"key={self.api_key}")
        return Completion(text=f"{prompt} (keyed)")

    async def aclose(self):
        pass


@hookimpl
def loom_register_providers(register):
    register(ProviderSpec(
        name="keyed", key_env_var="KEYED_API_KEY", base_url_env_var="KEYED_BASE_URL",
        sync=lambda config: KeyedSync(config.api_key),
        no_batch_reason="keyed has no batch API",
        no_tokens_reason="keyed has no remote API",
    ))
    register(ProviderSpec(name="tiny", key_env_var=None, batch=lambda config: TinyBatch()))
