"""The ``openai-compatible`` provider plugin: any server that speaks the OpenAI API.

Registered through the ``loom`` entry point ``openai-compatible = "loom_openai_compatible"``
(so ``LOOM_PLUGINS`` names it ``openai-compatible``). It registers:

- ``openai-compatible``: the server at ``--base-url`` or ``OPENAI_COMPATIBLE_BASE_URL``, with
  the key from ``--api-key`` or ``OPENAI_COMPATIBLE_API_KEY``, or none;
- ``openai-compatible:<name>`` for each endpoint of the endpoints file (see ``endpoints``).
  The prefix keeps these names apart from every other provider's, and, being the provider
  name a batch is remembered under, it brings ``loom fetch`` back to the same server.

Sync and batch only: these servers have no standard token-counting endpoint. The factories
import the adapters (and so the openai SDK) only when a command builds one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from loom.plugin import (
    BatchProvider,
    ProviderConfig,
    ProviderSpec,
    SyncProvider,
    UsageError,
    hookimpl,
)

from .endpoints import Endpoint, read_endpoints
from .server import BASE_URL_ENV, GENERIC, KEY_ENV, endpoint_server, generic_server

__all__ = ["GENERIC_SPEC", "NO_TOKENS", "endpoint_spec", "loom_register_providers"]

NO_TOKENS = "OpenAI-compatible servers have no standard token-counting endpoint"

_log = logging.getLogger(__name__)
# The hook runs more than once per command (``loom providers`` asks twice); warn once.
_warned: set[str] = set()


def _sync(config: ProviderConfig) -> SyncProvider:
    from .adapters import CompatibleSync

    return CompatibleSync(generic_server(config))


def _batch(config: ProviderConfig) -> BatchProvider:
    from .adapters import CompatibleBatch

    return CompatibleBatch(generic_server(config))


GENERIC_SPEC = ProviderSpec(
    name=GENERIC,
    # Local servers need no key; one that wants it gets it from the variable or .env.
    key_env_var=KEY_ENV,
    key_required=False,
    base_url_env_var=BASE_URL_ENV,
    base_url_is_server=True,
    batch=_batch,
    sync=_sync,
    no_tokens_reason=NO_TOKENS,
    description="Any server speaking the OpenAI API (vLLM, Ollama, llama.cpp, LM Studio, "
                "Together, DeepSeek, ...): chat completions, and the Batch API where offered.",
)


def endpoint_spec(endpoint: Endpoint, path: Path) -> ProviderSpec:
    """The provider for one endpoint of the file at ``path``; one with a problem still
    registers, and its factories explain the problem when it is used."""
    name = f"{GENERIC}:{endpoint.name}"
    if endpoint.problem is not None:
        def refuse(config: ProviderConfig):
            raise UsageError(f"cannot use {name}: {endpoint.problem} (in {path}).")

        return ProviderSpec(name=name, key_env_var=None, batch=refuse, sync=refuse,
                            no_tokens_reason=NO_TOKENS,
                            description=f"Unusable endpoint in {path}: {endpoint.problem}")

    def sync(config: ProviderConfig) -> SyncProvider:
        from .adapters import CompatibleSync

        return CompatibleSync(endpoint_server(endpoint, config))

    def batch(config: ProviderConfig) -> BatchProvider:
        from .adapters import CompatibleBatch

        return CompatibleBatch(endpoint_server(endpoint, config))

    return ProviderSpec(
        name=name,
        # Loom resolves it (the caller's key > environment > .env) and insists on it.
        key_env_var=endpoint.key_env,
        batch=batch,
        sync=sync,
        no_tokens_reason=NO_TOKENS,
        description=f"OpenAI-compatible server at {endpoint.base_url} (from {path}).",
    )


@hookimpl
def loom_register_providers(register, home: str) -> None:
    register(GENERIC_SPEC)
    found = read_endpoints(home)
    if found.problem is not None and found.problem not in _warned:
        # A broken file must not break Loom: say so (on stderr, through logging's last-resort
        # handler unless the application configured logging) and register none of it.
        _warned.add(found.problem)
        _log.warning("Warning: endpoints file skipped: %s.", found.problem)
    for endpoint in found.endpoints:
        register(endpoint_spec(endpoint, found.path))
