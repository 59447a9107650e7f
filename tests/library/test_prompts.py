"""An application answering prompts in memory with ``Loom``, offline: the echo provider, and
the keyed test provider (which needs a key, fails on chosen prompts and logs every call)."""

from __future__ import annotations

import pytest

from loom import (
    Completion,
    GenerationSettings,
    InputError,
    Loom,
    LoomError,
    MissingKeyError,
    PermanentError,
    UnknownProviderError,
    UnsupportedError,
    UsageError,
)

from .support import sent


def test_generate_and_complete(home):
    loom = Loom("echo", "upper")
    assert loom.generate("hello world") == "HELLO WORLD"
    completion = loom.complete("three little words")
    assert completion == Completion(text="THREE LITTLE WORDS", input_tokens=3, output_tokens=3)
    assert completion.ok


def test_generate_many_answers_strings_in_order(home):
    prompts = [f"prompt number {i}" for i in range(30)]
    answers = Loom("echo", "reverse").generate_many(prompts)
    assert [a.text for a in answers] == [p[::-1] for p in prompts]


def test_generate_many_takes_dicts_with_a_prompt_field_or_a_template(home):
    loom = Loom("echo", "echo")
    rows = [{"id": 1, "prompt": "first", "lang": "French"},
            {"id": 2, "prompt": "second", "lang": "German"}]
    assert [a.text for a in loom.generate_many(rows)] == ["first", "second"]
    assert [a.text for a in loom.generate_many(rows, template="Say {prompt} in {lang}.")] == [
        "Say first in French.", "Say second in German."]
    questions = [{"q": "why?"}, {"q": "how?"}]
    assert [a.text for a in loom.generate_many(questions, prompt_column="q")] == ["why?", "how?"]
    assert loom.generate_many([]) == []


@pytest.mark.parametrize("items, options, message", [
    ([{"text": "no prompt here"}], {}, r"item 0 has no 'prompt' field \(it has: text\)"),
    ([{"prompt": 42}], {}, "item 0: 'prompt' must be a string, not int"),
    (["fine", {"a": 1}], {"template": "{b}"}, "item 0 is a string"),
    ([{"a": 1}], {"template": "{b}"}, "item 0 has no field 'b' for the prompt template"),
    ([3.5], {}, "item 0 is a float"),
])
def test_bad_items_are_input_errors_before_anything_is_sent(call_log, items, options, message):
    with pytest.raises(InputError, match=message):
        Loom("keyed", "m", api_key="k").generate_many(items, **options)
    assert sent(call_log) == []


def test_one_string_is_not_a_list_of_prompts(home):
    with pytest.raises(UsageError, match="for a single prompt use generate"):
        Loom("echo", "echo").generate_many("not a list")


def test_the_second_run_is_served_from_the_cache(call_log):
    loom = Loom("keyed", "m", api_key="k")
    first = loom.generate_many(["a", "b", "a"])
    assert [c.text for c in first] == ["a (keyed)", "b (keyed)", "a (keyed)"]
    assert sorted(sent(call_log)) == ["a", "b"]  # identical prompts are asked once
    again = Loom("keyed", "m", api_key="k").generate_many(["b", "a"])
    assert [c.text for c in again] == ["b (keyed)", "a (keyed)"]
    assert loom.generate("a") == "a (keyed)"
    assert len(sent(call_log)) == 2


def test_without_the_cache_every_prompt_is_asked_again(call_log):
    Loom("keyed", "m", api_key="k").generate("a")
    Loom("keyed", "m", api_key="k", use_cache=False).generate("a")
    assert sent(call_log) == ["a", "a"]


def test_other_settings_miss_the_cache(call_log):
    loom = Loom("keyed", "m", api_key="k")
    loom.generate("a")
    loom.with_settings(temperature=0.5).generate("a")
    loom.generate("a")
    assert sent(call_log) == ["a", "a"]


def test_a_failed_row_is_its_completions_error_and_the_others_answer(call_log):
    answers = Loom("keyed", "m", api_key="k").generate_many(["ok", "please FAIL", "fine"])
    assert [a.ok for a in answers] == [True, False, True]
    assert answers[1].text is None and "refused prompt: please FAIL" in answers[1].error
    assert answers[2].text == "fine (keyed)"


def test_generate_raises_the_providers_error(call_log):
    with pytest.raises(PermanentError, match="refused prompt: FAIL"):
        Loom("keyed", "m", api_key="k").generate("FAIL")
    with pytest.raises(LoomError):
        Loom("keyed", "m", api_key="k").complete("FAIL again")


def test_errors_are_not_cached(call_log):
    loom = Loom("keyed", "m", api_key="k")
    for _ in range(2):
        with pytest.raises(PermanentError):
            loom.generate("FAIL")
    assert sent(call_log) == ["FAIL", "FAIL"]


def test_the_key_comes_from_the_argument_the_environment_or_dotenv(home, monkeypatch):
    with pytest.raises(MissingKeyError, match="set the KEYED_API_KEY environment variable"):
        Loom("keyed", "show-key").generate("x")
    assert Loom("keyed", "show-key", api_key="from-arg").generate("x") == "key=from-arg"
    (home.parent / "work" / ".env").write_text("KEYED_API_KEY=from-dotenv\n")
    assert Loom("keyed", "show-key").generate("y") == "key=from-dotenv"
    monkeypatch.setenv("KEYED_API_KEY", "from-env")
    assert Loom("keyed", "show-key").generate("z") == "key=from-env"


def test_the_key_never_shows_in_the_repr(home):
    loom = Loom("keyed", "m", api_key="sk-secret", temperature=0)
    assert "sk-secret" not in repr(loom) and "keyed" in repr(loom)


def test_an_unknown_provider_is_refused_at_construction(home):
    with pytest.raises(UnknownProviderError, match="Installed providers: echo, keyed"):
        Loom("nope", "m")


def test_a_mode_the_provider_lacks_is_unsupported(home, tmp_path):
    loom = Loom("keyed", "m", api_key="k")
    with pytest.raises(UnsupportedError, match="keyed has no batch API"):
        loom.submit_file("whatever.json")
    with pytest.raises(UnsupportedError, match="Token counting not available"):
        loom.count_tokens(["a"])


def test_settings_from_keywords_a_dict_or_a_value(home):
    assert Loom("echo", "echo", temperature=0, max_tokens=10).settings == GenerationSettings(
        temperature=0.0, max_tokens=10)
    assert Loom("echo", "echo", settings={"seed": 1}, system="s").settings == (
        GenerationSettings(seed=1, system="s"))
    base = GenerationSettings(top_p=0.5, stop="END")
    loom = Loom("echo", "echo", settings=base, top_p=0.9)
    assert loom.settings == GenerationSettings(top_p=0.9, stop=("END",))
    assert loom.with_settings(top_p=None).settings == GenerationSettings(stop=("END",))
    assert loom.settings.top_p == 0.9  # with_settings leaves the original alone


@pytest.mark.parametrize("options, message", [
    ({"temprature": 0.1}, "Unknown setting 'temprature'; the settings are: temperature"),
    ({"max_tokens": 1.5}, "Invalid settings"),
    ({"temperature": "hot"}, "Invalid settings"),
    ({"settings": 3}, "settings must be a GenerationSettings or a dict"),
    ({"workers": 0}, "workers must be a whole number of at least 1"),
    ({"max_retries": -1}, "max_retries must be a whole number of at least 0"),
])
def test_bad_options_are_usage_errors(home, options, message):
    with pytest.raises(UsageError, match=message):
        Loom("echo", "echo", **options)


def test_echo_token_counts_in_memory(home):
    loom = Loom("echo", "echo", system="two words")
    summary = loom.count_tokens(["one", "one two three", {"prompt": "x"}])
    assert (summary.total, summary.prompts, summary.errors) == (3 + 5 + 3, 3, 0)
    assert Loom("echo", "echo").count_tokens([{"a": "b c"}], template="{a} d").total == 3
    assert Loom("echo", "echo").count_tokens([]).total == 0


class RecordingProgress:
    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self, total):
        self.events.append(f"start {total}")

    def advance(self, completion=None, *, cached=False, tokens=None, error=False):
        self.events.append("cached" if cached else "error" if error else "answered")

    def finish(self):
        self.events.append("finish")


def test_silent_by_default_and_progress_on_request(call_log, capsys):
    Loom("keyed", "m", api_key="k").generate_many(["a", "FAIL"])
    assert capsys.readouterr() == ("", "")
    progress = RecordingProgress()
    Loom("keyed", "m", api_key="k", progress=progress).generate_many(["a", "b", "FAIL"])
    assert progress.events[0] == "start 3" and progress.events[-1] == "finish"
    assert sorted(progress.events[1:-1]) == ["answered", "cached", "error"]
