"""Domain errors: each knows the one line the user sees and the exit code it ends with.

The command line prints ``str(error)`` to stderr, without a traceback, and exits with
``error.exit_code``; the library lets them propagate. Catch at the level you can handle::

    LoomError                       anything Loom reports to a person (exit 1 unless said)
    ├── UsageError                  exit 2: the command asked for something impossible
    │   ├── UnknownProviderError    no installed plugin has that name
    │   ├── UnsupportedError        the provider lacks the mode (batch, tokens)
    │   └── MissingKeyError         no API key from --api-key, the environment or .env
    ├── InputError                  exit 2: the dataset cannot be read as given
    ├── OutputExistsError           the output file exists and may not be replaced
    ├── StateError                  a file under ~/.loom cannot be read or written
    ├── Interrupted                 exit 130: the user stopped a run (answers so far are kept)
    └── ProviderError               the provider refused or failed a call
        ├── AuthenticationError     the key is wrong (401/403): retrying cannot help
        ├── QuotaExhaustedError     out of credits or a quota that will not come back soon
        ├── RateLimitedError        429: wait ``retry_after`` seconds, then retry
        ├── TransientError          5xx, overloaded, timeouts, dropped connections: retry
        └── PermanentError          the request itself is wrong (400, 404): do not retry

Per-row failures in a run are not raised: they become ``Completion.error`` and land in the
row's ``llm_error``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "InputError",
    "Interrupted",
    "LoomError",
    "MissingKeyError",
    "OutputExistsError",
    "PermanentError",
    "ProviderError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "StateError",
    "TransientError",
    "UnknownProviderError",
    "UnsupportedError",
    "UsageError",
]


class LoomError(Exception):
    """An error with a message meant for the user."""

    exit_code = 1


class UsageError(LoomError):
    exit_code = 2


class UnknownProviderError(UsageError):
    def __init__(self, name: str, installed: list[str]) -> None:
        listed = ", ".join(sorted(installed)) or "none"
        super().__init__(f"Unknown provider '{name}'. Installed providers: {listed}.")


class UnsupportedError(UsageError):
    pass


class MissingKeyError(UsageError):
    def __init__(self, provider: str, env_var: str) -> None:
        super().__init__(
            f"No API key for {provider}: pass --api-key, set the {env_var} environment "
            f"variable, or put {env_var}=... in a .env file in this directory."
        )


class InputError(LoomError):
    exit_code = 2


class OutputExistsError(LoomError):
    pass


class StateError(LoomError):
    pass


class Interrupted(LoomError):
    exit_code = 130


class ProviderError(LoomError):
    pass


class AuthenticationError(ProviderError):
    pass


class QuotaExhaustedError(ProviderError):
    pass


class RateLimitedError(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    pass
