"""Loom as a library: run prompts through LLM providers from your own application.

::

    from loom import Loom

    loom = Loom("openai", "gpt-4o-mini", temperature=0)
    loom.generate("Say hello")                       # -> str, or raises a LoomError
    loom.generate_many(["one", "two"])               # -> [Completion, Completion], in order
    loom.run_file("prompts.json")                    # -> SyncSummary, like `loom run --sync`
    loom.submit_file("prompts.json")                 # batch, like `loom run`
    loom.fetch()                                     # like `loom fetch`
    loom.cancel()                                    # like `loom cancel --all`

The facade uses the command line's composition root and services: the same plugins
(``LOOM_PLUGINS``), cache and batch state (``LOOM_HOME``), keys (argument > environment >
``.env``), pool and retry rules. Importing ``loom`` loads no provider SDK; a provider's SDK is
imported when a call first needs it. See ``docs/api.md``.
"""

from __future__ import annotations

from loom_core.errors import (
    AuthenticationError,
    InputError,
    Interrupted,
    LoomError,
    MissingKeyError,
    MissingSettingError,
    OutputExistsError,
    PartlySubmittedError,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    StateError,
    TransientError,
    UnknownProviderError,
    UnsupportedError,
    UsageError,
)
from loom_core.model import BatchJob, BatchStatus, Completion, GenerationSettings
from loom_core.services.cancel import CancelOutcome
from loom_core.services.fetch import FetchOutcome
from loom_core.services.run_sync import SyncSummary
from loom_core.services.submit import SubmitOutcome
from loom_core.services.tokens import TokenSummary

from ._facade import Loom

__all__ = [
    "AuthenticationError",
    "BatchJob",
    "BatchStatus",
    "CancelOutcome",
    "Completion",
    "FetchOutcome",
    "GenerationSettings",
    "InputError",
    "Interrupted",
    "Loom",
    "LoomError",
    "MissingKeyError",
    "MissingSettingError",
    "OutputExistsError",
    "PartlySubmittedError",
    "PermanentError",
    "ProviderError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "StateError",
    "SubmitOutcome",
    "SyncSummary",
    "TokenSummary",
    "TransientError",
    "UnknownProviderError",
    "UnsupportedError",
    "UsageError",
]
