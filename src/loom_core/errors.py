"""Domain errors: what went wrong, as data, for each face to say in its own words.

The command line prints an error as one line on stderr, without a traceback, and exits with
``error.exit_code``; the library lets it propagate. Catch at the level you can handle::

    LoomError                       anything Loom reports to a person (exit 1 unless said)
    ├── UsageError                  exit 2: the command asked for something impossible
    │   ├── UnknownProviderError    no installed plugin has that name
    │   ├── UnsupportedError        the provider lacks the mode (batch, sync, tokens) or setting
    │   └── MissingSettingError     a provider needs a value nobody gave (its address)
    │       └── MissingKeyError     no API key from the caller, the environment or .env
    ├── InputError                  exit 2: the dataset cannot be read as given
    ├── OutputExistsError           the output file exists and may not be replaced
    ├── StateError                  a file under Loom's home cannot be read or written
    ├── PartlySubmittedError        some parts of a batch job went, then a part was refused
    ├── Interrupted                 exit 130: the user stopped a run (answers so far are kept)
    └── ProviderError               the provider refused or failed a call
        ├── AuthenticationError     the key is wrong (401/403): retrying cannot help
        ├── QuotaExhaustedError     out of credits or a quota that will not come back soon
        ├── RateLimitedError        429: wait ``retry_after`` seconds, then retry
        ├── TransientError          5xx, overloaded, timeouts, dropped connections: retry
        └── PermanentError          the request itself is wrong (400, 404): do not retry

A message is a sequence of parts: plain text, and ``Option`` or ``Remedy`` mentions of a choice
the user makes. The core never names a command-line flag or a library argument: ``Option(
"prompt_column")`` is ``--col`` on the command line and ``prompt_column=`` in the library. Each
face renders with its own ``Words`` (``error.render(words)``); ``str(error)`` uses the words set
on the error (the library sets its own as an error leaves it) or neutral ones.

Per-row failures in a run are not raised: they become ``Completion.error`` and land in the
row's ``llm_error``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Union

import attrs

__all__ = [
    "AuthenticationError",
    "InputError",
    "Interrupted",
    "LoomError",
    "MissingKeyError",
    "MissingSettingError",
    "Option",
    "OutputExistsError",
    "PartlySubmittedError",
    "PermanentError",
    "ProviderError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "Remedy",
    "StateError",
    "TransientError",
    "UnknownProviderError",
    "UnsupportedError",
    "UsageError",
    "Words",
    "about",
    "describe",
    "neutral_words",
]


@attrs.frozen
class Option:
    """A value the user chooses, by its library name (``api_key``, ``prompt_column``, a
    ``GenerationSettings`` field such as ``top_k``); each face spells it its own way."""

    name: str


class Remedy(enum.Enum):
    """Something the user can do about an error, which each face words as its own advice."""

    #: Answer now instead of through a batch API.
    USE_SYNC = "use_sync"
    #: Send a batch instead of answering now.
    USE_BATCH = "use_batch"
    #: Replace the existing output.
    OVERWRITE = "overwrite"
    #: Look at remembered batch jobs again and merge the finished ones.
    FETCH = "fetch"
    #: Stop a batch job at the provider.
    CANCEL = "cancel"


Mention = Union[Option, Remedy]
Part = Union[str, Mention]
#: How a face spells a mention: ``words(mention, subject)``; ``subject`` is what the mention
#: is about where it matters (the job a ``Remedy.CANCEL`` stops).
Words = Callable[[Mention, Union[str, None]], str]


def neutral_words(mention: Mention, subject: str | None = None) -> str:
    """Words that belong to no face: what ``str(error)`` says before a face has spoken."""
    if isinstance(mention, Option):
        return mention.name
    return {
        Remedy.USE_SYNC: "Answer it in sync mode instead.",
        Remedy.USE_BATCH: "Send it as a batch instead.",
        Remedy.OVERWRITE: "allow overwriting it",
        Remedy.FETCH: "fetching the job",
        Remedy.CANCEL: f"cancelling job {subject}",
    }[mention]


@attrs.frozen
class _Said:
    """A mention inside a message, with what it is about."""

    mention: Mention
    subject: str | None = None


class LoomError(Exception):
    """An error with a message meant for the user, built from text and mentions."""

    exit_code = 1

    def __init__(self, *parts: Part | _Said) -> None:
        self.parts: tuple[str | _Said, ...] = tuple(
            part if isinstance(part, (str, _Said)) else _Said(part) for part in parts)
        #: The face's words, once a face has claimed the error (the library does).
        self.words: Words | None = None
        super().__init__(self.render(neutral_words))

    def render(self, words: Words) -> str:
        """The message in a face's words."""
        return "".join(part if isinstance(part, str) else words(part.mention, part.subject)
                       for part in self.parts)

    def __str__(self) -> str:
        return self.render(self.words or neutral_words)


def about(mention: Mention, subject: str) -> _Said:
    """A mention that concerns ``subject`` (a job id, a file): ``about(Remedy.CANCEL, job)``."""
    return _Said(mention, subject)


def describe(error: BaseException, words: Words) -> str:
    """A failure's reason as one line of text, for a row's ``llm_error`` or a summary: a Loom
    error in ``words``, anything else (an adapter bug) with its type, so it can be reported."""
    if isinstance(error, LoomError):
        return error.render(words)
    return f"{type(error).__name__}: {error}"


class UsageError(LoomError):
    exit_code = 2


class UnknownProviderError(UsageError):
    def __init__(self, name: str, installed: list[str]) -> None:
        self.name = name
        self.installed = sorted(installed)
        listed = ", ".join(self.installed) or "none"
        super().__init__(f"Unknown provider '{name}'. Installed providers: {listed}.")


class UnsupportedError(UsageError):
    """A mode (``batch``, ``sync``, ``tokens``) or a setting the provider cannot honour.

    Raised with text for a setting (``UnsupportedError("openai does not support ",
    Option("top_k"))``), or through ``UnsupportedError.mode_missing`` for a whole mode.
    """

    def __init__(self, *parts: Part | _Said, provider: str | None = None,
                 mode: str | None = None) -> None:
        self.provider = provider
        #: The mode the provider lacks, when that is what was refused.
        self.mode = mode
        super().__init__(*parts)

    @classmethod
    def mode_missing(cls, provider: str, mode: str, reason: str | None = None) -> UnsupportedError:
        """The provider has no ``mode``; ``reason`` is the provider's own account of why."""
        if mode == "tokens":
            return cls("Token counting not available: ",
                       reason or f"{provider} has no token-counting API",
                       provider=provider, mode=mode)
        what = "batch API" if mode == "batch" else "synchronous API"
        remedy = Remedy.USE_SYNC if mode == "batch" else Remedy.USE_BATCH
        return cls(f"{reason or f'{provider} has no {what}'}. ", remedy,
                   provider=provider, mode=mode)


class MissingSettingError(UsageError):
    """The provider needs ``option`` and neither the caller nor ``env_var`` gave it."""

    def __init__(self, provider: str, option: str, env_var: str | None, *,
                 example: str | None = None) -> None:
        self.provider = provider
        self.option = option
        self.env_var = env_var
        parts: list[Part] = [f"{provider} needs {_described(option)}: pass ", Option(option)]
        if env_var:
            parts.append(f" or set {env_var}")
        if example:
            parts.append(f" (e.g. {example})")
        parts.append(".")
        super().__init__(*parts)


def _described(option: str) -> str:
    return {"base_url": "the server's address", "api_key": "an API key"}.get(option, option)


class MissingKeyError(MissingSettingError):
    def __init__(self, provider: str, env_var: str) -> None:
        self.provider = provider
        self.option = "api_key"
        self.env_var = env_var
        UsageError.__init__(
            self, f"No API key for {provider}: pass ", Option("api_key"),
            f", set the {env_var} environment variable, or put {env_var}=... in a .env file "
            f"in this directory.")


class InputError(LoomError):
    exit_code = 2


class OutputExistsError(LoomError):
    """``path`` exists and the user did not allow replacing it; ``pending`` is the batch
    that stays pending meanwhile, when there is one."""

    def __init__(self, path: str, pending: str | None = None) -> None:
        self.path = path
        self.pending = pending
        then = f" (batch {pending} stays pending until then)" if pending else ""
        super().__init__(f"Output file {path} already exists; ", Remedy.OVERWRITE, f"{then}.")


class StateError(LoomError):
    pass


class PartlySubmittedError(LoomError):
    """Part of a batch job was accepted, then the provider refused or failed the next part."""

    def __init__(self, cause: LoomError, job_id: str, accepted: int, parts: int) -> None:
        self.cause = cause
        self.job_id = job_id
        self.accepted = accepted
        self.total_parts = parts
        self.exit_code = cause.exit_code
        super().__init__(
            *cause.parts,
            f" ({accepted} of {parts} parts of job {job_id} were accepted; ", Remedy.FETCH,
            " sends the rest, finding any part the provider did get, and ",
            about(Remedy.CANCEL, job_id), " stops the job)")


class Interrupted(LoomError):
    exit_code = 130


class ProviderError(LoomError):
    """The provider refused or failed a call; ``status`` is the HTTP status when there was
    one, and ``route`` the request it answered (method, path), for a caller that tells a
    missing endpoint from a bad request without looking at SDK exceptions."""

    def __init__(self, *parts: Part | _Said, status: int | None = None,
                 route: tuple[str, str] | None = None) -> None:
        self.status = status
        self.route = route
        super().__init__(*parts)


class AuthenticationError(ProviderError):
    pass


class QuotaExhaustedError(ProviderError):
    pass


class RateLimitedError(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None, **details) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class TransientError(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None, **details) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    pass
