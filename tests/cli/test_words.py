"""Each face says the core's errors in its own words: flags on the command line, arguments in
the library, and neither face leaves a remedy unsaid."""

from __future__ import annotations

import pytest

from loom import Loom, MissingKeyError, OutputExistsError
from loom._words import library_words
from loom_adapters.cli.words import cli_words, error_line
from loom_core.errors import (
    Option,
    PartlySubmittedError,
    Remedy,
    TransientError,
    UnsupportedError,
)


@pytest.mark.parametrize("words", [cli_words, library_words])
def test_every_remedy_has_words_in_each_face(words):
    said = {remedy: words(remedy, "loom-job-1") for remedy in Remedy}
    assert all(said.values()) and len(set(said.values())) == len(said)


def test_the_command_line_names_its_flags():
    assert cli_words(Option("prompt_column")) == "--col"
    assert cli_words(Option("top_k")) == "--top-k"
    assert cli_words(Option("extra")) == "--param"
    assert error_line(UnsupportedError("openai does not support ", Option("top_k"))) == (
        "Error: openai does not support --top-k")


def test_the_library_names_its_arguments():
    assert library_words(Option("prompt_column")) == "prompt_column=..."
    assert library_words(Option("top_k")) == "top_k"


def test_a_partly_submitted_job_says_how_to_finish_or_stop_it_in_each_face():
    error = PartlySubmittedError(TransientError("connection reset"), "loom-1", 2, 3)
    assert error_line(error) == (
        "Error: connection reset (2 of 3 parts of job loom-1 were accepted; loom fetch sends "
        "the rest, finding any part the provider did get, and loom cancel --id loom-1 stops "
        "the job)")
    assert error.render(library_words).endswith(
        "Loom.fetch() sends the rest, finding any part the provider did get, and "
        "Loom.cancel('loom-1') stops the job)")


def test_token_counting_keeps_the_seeds_opening_line():
    error = UnsupportedError.mode_missing("x", "tokens", "x has no remote API")
    assert error_line(error) == "Token counting not available: x has no remote API"
    assert error_line(UnsupportedError.mode_missing("x", "batch")) == (
        "Error: x has no batch API. Re-run with --sync.")


def test_the_library_raises_in_its_own_words(home, tmp_path):
    loom = Loom("keyed", "m")
    with pytest.raises(MissingKeyError) as missing:
        loom.generate("hello")
    assert "pass api_key=..." in str(missing.value) and "--api-key" not in str(missing.value)

    (tmp_path / "p.json").write_text('[{"id": 1, "prompt": "x"}]')
    (tmp_path / "out.json").write_text("[]")
    with pytest.raises(OutputExistsError) as refused:
        Loom("echo", "echo").run_file(tmp_path / "p.json", output=tmp_path / "out.json")
    assert str(refused.value) == (
        f"Output file {tmp_path / 'out.json'} already exists; pass overwrite=True to replace "
        f"it.")
