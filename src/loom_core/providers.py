"""What a provider plugin offers, and the registry the core looks providers up in.

A plugin registers one ``ProviderSpec`` per provider through the ``loom_register_providers``
hook (see ``loom_core.hookspecs``). The spec says which modes exist, which environment
variables hold the key and the base URL, and carries factories that build the adapters when a
command needs them, so that no SDK is imported before then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .errors import UnknownProviderError, UnsupportedError
from .ports import BatchProvider, SyncProvider, TokenCounter

__all__ = ["ProviderConfig", "ProviderRegistry", "ProviderSpec"]


@attrs.frozen
class ProviderConfig:
    """What a factory needs to build an adapter: the resolved key, the base-URL override, how
    many calls the run keeps in flight (so an HTTP client can size its connection pool), and
    Loom's data folder (``~/.loom`` or ``LOOM_HOME``), for a provider that keeps files."""

    api_key: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    concurrency: int = 8
    data_dir: str | None = None


@attrs.frozen
class ProviderSpec:
    """One provider: its name, how its key is found, and factories for each mode it has."""

    name: str
    #: The environment variable holding the key (also read from ``.env``); None when the
    #: provider takes no key at all.
    key_env_var: str | None
    #: Whether a command is refused (``MissingKeyError``) when no key is found. A local
    #: server may take a key without needing one: ``key_env_var`` set, ``key_required`` False.
    key_required: bool = attrs.field()
    #: The environment variable that overrides the API's base URL, if the provider has one.
    base_url_env_var: str | None = None
    #: True when the base URL names the server itself rather than a route to the provider's
    #: own API: a batch then lives on that server, and remembers its address even when it
    #: came from the variable (a route, a proxy, is taken from the variable at fetch time).
    base_url_is_server: bool = False
    batch: Callable[[ProviderConfig], BatchProvider] | None = None
    sync: Callable[[ProviderConfig], SyncProvider] | None = None
    tokens: Callable[[ProviderConfig], TokenCounter] | None = None
    #: Why batch mode is missing, said when it is asked for ("OpenRouter has no batch API").
    no_batch_reason: str | None = None
    #: Why token counting is missing, said after "Token counting not available: ".
    no_tokens_reason: str | None = None
    description: str = ""

    @key_required.default
    def _key_required_when_there_is_a_variable(self) -> bool:
        return self.key_env_var is not None

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(
            mode for mode in ("batch", "sync", "tokens") if getattr(self, mode) is not None
        )

    def require(self, mode: str) -> None:
        """Raise ``UnsupportedError`` saying why, unless the provider has ``mode``."""
        if getattr(self, mode) is not None:
            return
        reason = {"batch": self.no_batch_reason, "tokens": self.no_tokens_reason}.get(mode)
        raise UnsupportedError.mode_missing(self.name, mode, reason)

    def build(self, mode: str, config: ProviderConfig) -> Any:
        """The adapter for ``mode`` (``batch``, ``sync`` or ``tokens``), built by its factory."""
        self.require(mode)
        return getattr(self, mode)(config)


class ProviderRegistry:
    """The installed providers by name, filled from the plugins' registrations."""

    def __init__(self, specs: Iterable[ProviderSpec] = ()) -> None:
        self._specs: dict[str, ProviderSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ProviderSpec) -> None:
        # The first registration of a name wins, so a plugin cannot silently replace one
        # that was registered before it; pluggy calls later-registered plugins first, which
        # lets a user-installed plugin override a built-in on purpose.
        self._specs.setdefault(spec.name, spec)

    def get(self, name: str) -> ProviderSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownProviderError(name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __iter__(self):
        return iter(self._specs[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._specs)
