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
    message = str(errors.MissingKeyError("anthropic", "ANTHROPIC_API_KEY"))
    assert "--api-key" in message and "ANTHROPIC_API_KEY" in message and ".env" in message


def test_provider_errors_carry_their_wait() -> None:
    assert errors.RateLimitedError("429", retry_after=12.5).retry_after == 12.5
    assert errors.RateLimitedError("429").retry_after is None
    assert errors.TransientError("503", retry_after=2.0).retry_after == 2.0


def test_every_provider_error_is_a_loom_error() -> None:
    for cls in (errors.AuthenticationError, errors.QuotaExhaustedError, errors.RateLimitedError,
                errors.TransientError, errors.PermanentError):
        assert issubclass(cls, errors.ProviderError) and issubclass(cls, errors.LoomError)
