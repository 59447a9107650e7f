"""The application layer: what the outside world supplies enters through the composition root,
and adapters are built, configured and closed the same way for both faces."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers

from loom_adapters.application import Access
from loom_adapters.container import create_container
from loom_adapters.plugins import load_plugins
from loom_core.errors import MissingKeyError, UnsupportedError
from loom_core.hookspecs import hookimpl
from loom_core.model import BatchJob
from loom_core.providers import ProviderConfig, ProviderSpec


class Recorder:
    """A plugin whose factories record the config they were built with."""

    def __init__(self) -> None:
        self.configs: list[ProviderConfig] = []
        self.closed: list[str] = []

    @hookimpl
    def loom_register_providers(self, register):
        def build(config: ProviderConfig):
            self.configs.append(config)
            return Adapter(self, config.base_url)

        register(ProviderSpec(name="needs-key", key_env_var="NEEDS_KEY", sync=build,
                              batch=build))
        register(ProviderSpec(name="maybe-key", key_env_var="MAYBE_KEY", key_required=False,
                              base_url_env_var="MAYBE_URL", base_url_is_server=True,
                              sync=build))
        register(ProviderSpec(name="no-key", key_env_var=None, sync=build))


class Adapter:
    def __init__(self, recorder: Recorder, where: str | None) -> None:
        self.recorder = recorder
        self.where = where

    def close(self) -> None:
        self.recorder.closed.append(self.where or "default")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def app_with(recorder: Recorder, environ: dict[str, str], working_dir: Path):
    container = create_container()
    container.environ.override(providers.Object(environ))
    container.working_dir.override(providers.Object(lambda: str(working_dir)))
    container.plugins.override(providers.Object(load_plugins(set(), extra=(recorder,))))
    return container.application()


def test_keys_and_addresses_come_from_the_environment_the_root_was_given(recorder, tmp_path):
    app = app_with(recorder, {"NEEDS_KEY": "sk-env", "MAYBE_URL": "http://maybe/v1",
                              "LOOM_HOME": str(tmp_path / "home")}, tmp_path)
    app.adapter("needs-key", "sync")
    app.adapter("maybe-key", "sync", concurrency=32)
    first, second = recorder.configs
    assert (first.api_key, first.base_url) == ("sk-env", None)
    assert (second.api_key, second.base_url, second.concurrency) == (None, "http://maybe/v1", 32)
    assert first.data_dir == second.data_dir == str(tmp_path / "home")


def test_the_callers_key_and_address_win_over_the_environment(recorder, tmp_path):
    app = app_with(recorder, {"NEEDS_KEY": "sk-env"}, tmp_path)
    app.adapter("needs-key", "sync", Access(api_key="sk-caller", base_url="http://here/v1"))
    (config,) = recorder.configs
    assert (config.api_key, config.base_url) == ("sk-caller", "http://here/v1")


def test_dotenv_is_read_in_the_working_directory_the_root_was_given(recorder, tmp_path):
    (tmp_path / ".env").write_text("MAYBE_KEY=sk-dotenv\n")
    app = app_with(recorder, {}, tmp_path)
    app.adapter("maybe-key", "sync")
    assert recorder.configs[0].api_key == "sk-dotenv"


def test_a_required_key_is_insisted_on_and_an_optional_one_is_not(recorder, tmp_path):
    app = app_with(recorder, {}, tmp_path)
    with pytest.raises(MissingKeyError) as missing:
        app.adapter("needs-key", "sync")
    assert (missing.value.provider, missing.value.env_var) == ("needs-key", "NEEDS_KEY")
    app.adapter("maybe-key", "sync")
    app.adapter("no-key", "sync")
    assert [config.api_key for config in recorder.configs] == [None, None]


def test_a_missing_mode_is_refused_before_the_key_is_looked_for(recorder, tmp_path):
    app = app_with(recorder, {}, tmp_path)
    with pytest.raises(UnsupportedError):
        app.adapter("no-key", "batch")
    assert recorder.configs == []


def test_a_new_batch_remembers_the_variables_address_only_for_a_server(recorder, tmp_path):
    app = app_with(recorder, {"MAYBE_URL": "http://maybe/v1"}, tmp_path)
    assert app.batch_address("maybe-key", Access()) == "http://maybe/v1"
    assert app.batch_address("needs-key", Access()) is None
    assert app.batch_address("needs-key", Access(base_url="http://flag/v1")) == "http://flag/v1"


def test_batch_adapters_are_built_once_per_address_and_closed_together(recorder, tmp_path):
    app = app_with(recorder, {"NEEDS_KEY": "sk"}, tmp_path)
    jobs = [BatchJob(batch_id=f"b{i}", provider="needs-key", model="m",
                     original_file_path="p.json", file_type="json", prompt_column=None,
                     id_map={}, created_at="2026-01-01T00:00:00+00:00", base_url=where)
            for i, where in enumerate(["http://a/v1", "http://a/v1", None])]
    with app.batch_adapters(Access()) as provider_for:
        adapters = [provider_for(job) for job in jobs]
        assert adapters[0] is adapters[1] and adapters[2] is not adapters[0]
        assert recorder.closed == []
    assert sorted(recorder.closed) == ["default", "http://a/v1"]
