"""The error hierarchy: what the user reads and the exit code it ends with."""

from __future__ import annotations

import pytest

from loom_core import errors


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.UsageError("x"), 2),
        (errors.UnknownProviderError("x", []), 2),
        (errors.UnsupportedError("x"), 2),
        (errors.MissingKeyError("openai", "OPENAI_API_KEY"), 2),
        (errors.InputError("x"), 2),
        (errors.OutputExistsError("x"), 1),
        (errors.StateError("x"), 1),
        (errors.ProviderError("x"), 1),
        (errors.RateLimitedError("x", 3.0), 1),
        (errors.PermanentError("x"), 1),
    ],
)
def test_exit_codes(error: errors.LoomError, code: int) -> None:
    assert error.exit_code == code


def test_missing_key_names_every_fix() -> None:
    error = errors.MissingKeyError("anthropic", "ANTHROPIC_API_KEY")
    message = str(error)
    assert "ANTHROPIC_API_KEY" in message and ".env" in message
    assert errors.Option("api_key") in [part.mention for part in error.parts
                                        if not isinstance(part, str)]
    assert (error.provider, error.option, error.env_var) == (
        "anthropic", "api_key", "ANTHROPIC_API_KEY")


def test_a_message_is_rendered_in_the_words_a_face_gives() -> None:
    error = errors.UnsupportedError("openai does not support ", errors.Option("top_k"))
    assert str(error) == "openai does not support top_k"
    shouted = lambda mention, subject=None: f"<{mention.name.upper()}>"  # noqa: E731
    assert error.render(shouted) == "openai does not support <TOP_K>"
    error.words = shouted
    assert str(error) == "openai does not support <TOP_K>"


def test_a_mention_can_be_about_something() -> None:
    error = errors.LoomError("stop it with ", errors.about(errors.Remedy.CANCEL, "job-1"))
    assert error.render(lambda mention, subject: f"{mention.value}({subject})") == (
        "stop it with cancel(job-1)")


def test_neutral_words_cover_every_remedy() -> None:
    for remedy in errors.Remedy:
        assert errors.neutral_words(remedy, "job-1")


def test_provider_errors_carry_their_wait() -> None:
    assert errors.RateLimitedError("429", retry_after=12.5).retry_after == 12.5
    assert errors.RateLimitedError("429").retry_after is None
    assert errors.TransientError("503", retry_after=2.0).retry_after == 2.0


def test_every_provider_error_is_a_loom_error() -> None:
    for cls in (errors.AuthenticationError, errors.QuotaExhaustedError, errors.RateLimitedError,
                errors.TransientError, errors.PermanentError):
        assert issubclass(cls, errors.ProviderError) and issubclass(cls, errors.LoomError)
