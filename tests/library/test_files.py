"""An application running dataset files with ``Loom``, offline: sync runs, batches and
fetches with the echo provider, sharing the command line's cache, state and plugins."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from dependency_injector import providers

from loom import (
    BatchStatus,
    InputError,
    Loom,
    OutputExistsError,
    UnknownProviderError,
    UsageError,
)
from loom_adapters.container import create_container
from loom_adapters.plugins import load_plugins
from loom_core.hookspecs import hookimpl
from loom_core.model import Completion
from loom_core.providers import ProviderSpec

from tests.support import cached_entries

from .support import read_json, sent, write_json

ITEMS = [{"id": "task-1", "prompt": "hello there"}, {"id": 2, "prompt": "second row"}]


def test_run_file_writes_the_output_beside_the_input(home):
    write_json("p.json", ITEMS)
    summary = Loom("echo", "upper").run_file("p.json")
    assert summary.output_path == "p_results_echo_upper.json"
    assert (summary.rows, summary.calls, summary.cache_hits, summary.errors) == (2, 2, 0, 0)
    assert read_json("p_results_echo_upper.json") == [
        {"id": "task-1", "prompt": "hello there", "llm_response": "HELLO THERE"},
        {"id": 2, "prompt": "second row", "llm_response": "SECOND ROW"},
    ]


def test_an_existing_output_is_replaced_only_with_overwrite(call_log):
    write_json("p.json", ITEMS)
    Path("out.json").write_text("[]")
    loom = Loom("keyed", "m", api_key="k")
    with pytest.raises(OutputExistsError, match="out.json already exists; pass overwrite=True"):
        loom.run_file("p.json", output="out.json")
    assert Path("out.json").read_text() == "[]" and sent(call_log) == []
    summary = loom.run_file(Path("p.json"), output=Path("out.json"), overwrite=True)
    assert summary.output_path == "out.json"
    assert [r["llm_response"] for r in read_json("out.json")] == [
        "hello there (keyed)", "second row (keyed)"]


def test_run_file_with_a_column_a_template_and_meta(home):
    with open("d.csv", "w", newline="", encoding="utf-8") as out:
        out.write("id,text,lang\n7,good morning,French\n8,good night,German\n")
    loom = Loom("echo", "echo")
    loom.run_file("d.csv", prompt_column="text", output="by_column.csv")
    with open("by_column.csv", newline="", encoding="utf-8") as stream:
        assert [r["llm_response"] for r in csv.DictReader(stream)] == [
            "good morning", "good night"]
    summary = loom.run_file("d.csv", template="Say {text} in {lang}", with_meta=True)
    with open(summary.output_path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert rows[0]["llm_response"] == "Say good morning in French"
    assert rows[0]["llm_provider"] == "echo" and rows[0]["llm_input_tokens"] == "5"


def test_run_file_reports_failed_rows_in_the_output(call_log):
    write_json("p.json", [{"id": 1, "prompt": "fine"}, {"id": 2, "prompt": "FAIL me"}])
    summary = Loom("keyed", "m", api_key="k").run_file("p.json")
    assert summary.errors == 1
    rows = read_json(summary.output_path)
    assert rows[1]["llm_response"] is None and "refused prompt" in rows[1]["llm_error"]


def test_bad_input_files_are_input_errors(home):
    write_json("empty.json", [])
    with pytest.raises(InputError, match="empty"):
        Loom("echo", "echo").run_file("empty.json")
    with pytest.raises(InputError, match="Unsupported file type"):
        Loom("echo", "echo").run_file("notes.txt")


def test_the_cli_and_the_library_share_one_cache(loom, call_log, monkeypatch):
    monkeypatch.setenv("KEYED_API_KEY", "k")
    write_json("p.json", ITEMS)
    assert loom("run", "--sync", "-f", "p.json", "-p", "keyed", "-m", "m").code == 0
    answers = Loom("keyed", "m").generate_many(["second row", "hello there"])
    assert [a.text for a in answers] == ["second row (keyed)", "hello there (keyed)"]
    assert Loom("keyed", "m").generate("new one") == "new one (keyed)"
    assert len(sent(call_log)) == 3
    result = loom("run", "--sync", "-f", "p.json", "-p", "keyed", "-m", "m", "--force")
    assert "cache hits=2, provider calls=0" in result.out


def test_a_submitted_file_is_fetched_from_another_folder(home, tmp_path, monkeypatch):
    Path("proj").mkdir()
    write_json("proj/p.json", ITEMS)
    Loom("echo", "upper").submit_file("proj/p.json")
    expected = Path("proj/p_results_echo_upper.json").resolve()
    monkeypatch.chdir(tmp_path)
    [outcome] = Loom("echo", "upper").fetch()
    assert outcome.problem is None and outcome.output_path == str(expected)
    assert [r["llm_response"] for r in read_json(str(expected))] == ["HELLO THERE", "SECOND ROW"]


def test_submit_then_fetch_merges_and_forgets_the_batch(home):
    write_json("p.json", ITEMS)
    loom = Loom("echo", "upper")
    submitted = loom.submit_file("p.json", output="merged.json")
    job = submitted.job
    assert job.provider == "echo" and job.model == "upper"
    # Remembered absolute: whoever fetches, from wherever, writes the same file.
    assert job.output_path == str(Path("merged.json").resolve())
    assert job.original_file_path == str(Path("p.json").resolve())
    assert list((home / "batches").glob("echo_*.json"))
    [outcome] = loom.fetch()
    assert outcome.status is BatchStatus.COMPLETED and outcome.problem is None
    assert outcome.output_path == job.output_path and outcome.rows == 2
    assert [r["llm_response"] for r in read_json("merged.json")] == ["HELLO THERE", "SECOND ROW"]
    assert not list((home / "batches").glob("*.json"))
    assert loom.fetch() == []


def test_the_cli_lists_and_fetches_a_batch_the_library_submitted(loom, home):
    write_json("p.json", ITEMS)
    job = Loom("echo", "echo").submit_file("p.json").job
    assert job.batch_id in loom("list").out
    assert loom("fetch", "--all").code == 0
    assert [r["llm_response"] for r in read_json("p_results_echo_echo.json")] == [
        "hello there", "second row"]


def test_fetch_keep_overwrite_and_one_batch_by_id(home):
    write_json("p.json", ITEMS)
    loom = Loom("echo", "echo")
    job = loom.submit_file("p.json").job
    [kept] = loom.fetch(job.batch_id, keep=True)
    assert kept.status is BatchStatus.COMPLETED
    assert loom.fetch() == []  # a kept, merged batch is no longer pending
    [refused] = loom.fetch(job.batch_id)
    assert "already exists; pass overwrite=True" in refused.problem
    [again] = loom.fetch(job.batch_id, overwrite=True)
    assert again.problem is None and again.status is BatchStatus.COMPLETED
    with pytest.raises(UsageError, match="No batch with id"):
        loom.fetch(job.batch_id)


def test_fetch_without_an_id_looks_only_at_this_providers_batches(home, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "echo")
    write_json("p.json", ITEMS)
    state = home / "batches"
    Loom("echo", "echo").submit_file("p.json")
    (state / "openai_batch_elsewhere.json").write_text(json.dumps({
        "batch_id": "batch_elsewhere", "provider": "openai", "model": "gpt-4o-mini",
        "original_file_path": "p.json", "file_type": "json", "prompt_column": None,
        "id_map": {"row-0": "task-1"}, "created_at": "2026-01-01T00:00:00+00:00",
        "status": "in_progress"}))
    (state / "openai_broken.json").write_text("{not json")
    with pytest.warns(RuntimeWarning, match="skipping a batch"):
        outcomes = Loom("echo", "echo").fetch()
    assert [o.job.provider for o in outcomes] == ["echo"]
    # The other provider's batch was not touched (not even marked unknown).
    assert json.loads((state / "openai_batch_elsewhere.json").read_text())["status"] == (
        "in_progress")


def test_file_token_counts(home):
    write_json("p.json", ITEMS)
    summary = Loom("echo", "echo").count_file_tokens("p.json")
    assert (summary.total, summary.prompts, summary.errors) == (4, 2, 0)


# --- plugins -----------------------------------------------------------------------------------


def test_loom_plugins_pins_the_providers(home, monkeypatch):
    monkeypatch.setenv("LOOM_PLUGINS", "keyed")
    with pytest.raises(UnknownProviderError, match="Installed providers: keyed"):
        Loom("echo", "echo")


class Shout:
    """An application's own provider, registered in-process: no entry point needed."""

    async def generate(self, model, prompt, settings):
        return Completion(text=prompt.upper() + "!")

    async def aclose(self):
        pass


class ShoutPlugin:
    @hookimpl
    def loom_register_providers(self, register):
        register(ProviderSpec(name="shout", key_env_var=None, sync=lambda config: Shout()))


def test_an_app_adds_a_provider_through_the_container(home):
    container = create_container()
    container.plugins.override(providers.Object(load_plugins(set(), extra=(ShoutPlugin(),))))
    loom = Loom("shout", "any", container=container)
    assert loom.generate("hey") == "HEY!"
    write_json("p.json", ITEMS)
    assert read_json(loom.run_file("p.json").output_path)[0]["llm_response"] == "HELLO THERE!"
    # The same cache as every other run: the answer is on disk under LOOM_HOME.
    assert len(cached_entries(home / "cache")) == 3


class ServerPlugin:
    """Two providers on echo's batch adapter: one whose base URL names the server itself, one
    whose base URL is only a route to its API."""

    @hookimpl
    def loom_register_providers(self, register):
        from loom_echo.adapters import EchoBatch

        for name, is_server in (("server", True), ("routed", False)):
            register(ProviderSpec(name=name, key_env_var=None, base_url_env_var="SERVER_URL",
                                  base_url_is_server=is_server,
                                  batch=lambda config: EchoBatch(Path(config.data_dir))))


@pytest.mark.parametrize("provider, remembered", [("server", "http://here/v1"), ("routed", None)])
def test_a_batch_remembers_an_address_from_the_variable_only_where_it_names_the_server(
        home, monkeypatch, provider, remembered):
    monkeypatch.setenv("SERVER_URL", "http://here/v1")
    container = create_container()
    container.plugins.override(providers.Object(load_plugins(set(), extra=(ServerPlugin(),))))
    write_json("p.json", ITEMS)
    job = Loom(provider, "echo", container=container).submit_file("p.json").job
    assert job.base_url == remembered
    assert json.loads(next((home / "batches").glob("*.json")).read_text()).get("base_url") == (
        remembered)
    flagged = Loom(provider, "echo", container=container, base_url="http://flag/v1")
    assert flagged.submit_file("p.json", output="again.json").job.base_url == "http://flag/v1"


def test_a_batch_whose_every_answer_is_cached_is_written_at_once(home):
    write_json("p.json", ITEMS)
    loom = Loom("echo", "upper")
    loom.generate_many(["hello there", "second row"])
    Path("done.json").write_text("[]")
    with pytest.raises(OutputExistsError):
        loom.submit_file("p.json", output="done.json")
    outcome = loom.submit_file("p.json", output="done.json", overwrite=True)
    assert outcome.job is None and (outcome.rows, outcome.cached) == (2, 2)
    assert [r["llm_response"] for r in read_json("done.json")] == ["HELLO THERE", "SECOND ROW"]
    assert loom.fetch() == []
