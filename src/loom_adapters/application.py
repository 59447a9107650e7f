"""The application layer: every use case, assembled once, for both faces.

The command line (``loom_adapters.cli``) and the library (``loom.Loom``) are thin faces: they
turn their input into the core's requests (``SyncRequest``, ``SubmitRequest``, ...) and render
what comes back. Everything between is here: choosing the provider's spec, resolving its key
(the caller's > environment > ``.env``) and address, building and closing adapters, anchoring a batch job's input and output to the working
directory (a job is fetched later, often from another folder, where a relative path would name
another file or none; state files that already hold a relative path resolve against the folder
fetch runs in, as they always did), and calling the service in ``loom_core.services`` with the stores. What only a face knows
(asking before overwriting, drawing progress, stopping on Ctrl-C) comes in as arguments.

Adding an option touches the face that exposes it and this module, nothing else.
"""

from __future__ import annotations

import os
from datetime import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from loom_core.calls import StopToken
from loom_core.codecs import CodecRegistry
from loom_core.errors import LoomError, MissingKeyError, StateError, Words, neutral_words
from loom_core.model import BatchJob, CacheStats, Completion, GenerationSettings, Record
from loom_core.ports import (
    BatchProvider,
    OutputGuard,
    Progress,
    ResponseCache,
    StateStore,
    SyncProvider,
)
from loom_core.providers import ProviderConfig, ProviderRegistry, ProviderSpec
from loom_core.services.manage import select_batches

from .keys import resolve_api_key
from .paths import LoomPaths
from .plugins import LoadedPlugins

if TYPE_CHECKING:  # the services are imported where a use case runs, so a sync run never
    # loads the batch path, nor a batch the sync engine
    from loom_core.services.cancel import CancelOutcome
    from loom_core.services.fetch import FetchOutcome
    from loom_core.services.run_sync import SyncAnswers, SyncOptions, SyncRequest, SyncSummary
    from loom_core.services.submit import SubmitOutcome, SubmitRequest
    from loom_core.services.tokens import TokenRequest, TokenSummary

__all__ = ["Access", "Application", "BatchAdapters"]


@attrs.frozen
class Access:
    """How the caller reaches a provider: a key and an address that override the
    environment (``--api-key``/``--base-url``, or the library's ``api_key``/``base_url``)."""

    api_key: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None


class Application:
    """Loom's use cases over the stores and plugins the composition root gives it."""

    def __init__(self, *, plugins: Callable[[], LoadedPlugins],
                 registry: Callable[[], ProviderRegistry], codecs: Callable[[], CodecRegistry],
                 store: StateStore, cache: ResponseCache, paths: LoomPaths,
                 environ: Mapping[str, str], working_dir: Callable[[], str],
                 clock: Callable[[], str],
                 on_adapter_built: Callable[[], None]) -> None:
        self._plugins = plugins
        self._registry = registry
        self._codecs = codecs
        self.store = store
        self.cache = cache
        self.paths = paths
        self._environ = environ
        self._working_dir = working_dir
        self._clock = clock
        self._on_adapter_built = on_adapter_built

    # --- what is installed -------------------------------------------------------------------

    def plugin_failures(self) -> list[str]:
        """One line per plugin that could not be loaded."""
        return self._plugins().failures

    def providers(self) -> list[tuple[ProviderSpec, str]]:
        """Every installed provider with the distribution that registered it."""
        origins = self._plugins().provider_origins()
        return [(spec, origins.get(spec.name, "?")) for spec in self._registry()]

    def spec(self, provider: str) -> ProviderSpec:
        """The provider's spec; ``UnknownProviderError`` names the installed ones."""
        return self._registry().get(provider)

    @property
    def codecs(self) -> CodecRegistry:
        return self._codecs()

    # --- adapters ------------------------------------------------------------------------------

    def adapter(self, provider: str, mode: str, access: Access = Access(), *,
                concurrency: int = 8) -> Any:
        """The provider's adapter for ``mode``; a mode the provider lacks is refused before
        any key is looked for, so the caller hears the real reason first."""
        spec = self.spec(provider)
        spec.require(mode)
        return self._built(spec.build(mode, self._config(spec, access, concurrency)))

    def _built(self, adapter: Any) -> Any:
        self._on_adapter_built()
        return adapter

    def _sync_adapter(self, provider: str, access: Access, concurrency: int) -> SyncProvider:
        """The provider's sync adapter, checked now (the mode, the key) but built at its first
        call: a run the cache answers whole never imports the provider's SDK (0.4 s for
        openai, measured: a quarter of a 100,000-row re-run)."""
        spec = self.spec(provider)
        spec.require("sync")
        config = self._config(spec, access, concurrency)
        return _BuiltAtFirstCall(lambda: self._built(spec.build("sync", config)))

    def _config(self, spec: ProviderSpec, access: Access, concurrency: int) -> ProviderConfig:
        key = resolve_api_key(access.api_key, spec.key_env_var, environ=self._environ,
                              cwd=self._working_dir())
        if key is None and spec.key_required and spec.key_env_var is not None:
            raise MissingKeyError(spec.name, spec.key_env_var)
        return ProviderConfig(api_key=key, base_url=self._address(spec, access.base_url),
                              concurrency=concurrency, data_dir=str(self.paths.home))

    def _address(self, spec: ProviderSpec, base_url: str | None) -> str | None:
        if base_url is None and spec.base_url_env_var:
            base_url = self._environ.get(spec.base_url_env_var)
        return base_url or None

    def batch_address(self, provider: str, access: Access) -> str | None:
        """The address a new batch of ``provider`` remembers: the caller's, or, for a provider
        whose base URL is the server itself, its variable's, so that a later fetch asks the
        server the batch is on whatever the variable says by then."""
        spec = self.spec(provider)
        return self._address(spec, access.base_url) if spec.base_url_is_server else access.base_url

    def batch_adapters(self, access: Access) -> BatchAdapters:
        """Batch adapters for remembered jobs, each asked at the address it was submitted to
        (unless ``access.base_url`` moves it)."""
        return BatchAdapters(
            lambda provider, address: self.adapter(
                provider, "batch", Access(access.api_key, address)),
            access.base_url)

    # --- use cases -----------------------------------------------------------------------------

    def run_sync(self, request: SyncRequest, access: Access = Access(), *, guard: OutputGuard,
                 progress: Progress, stop: StopToken | None = None,
                 words: Words = neutral_words) -> SyncSummary:
        """``loom run --sync``: answer every row of a file now and write the output."""
        from loom_core.services.run_sync import run_sync

        provider = self._sync_adapter(request.provider, access, request.workers)
        return run_sync(request, codecs=self.codecs, provider=provider,
                        cache=self.cache, guard=guard, progress=progress, stop=stop,
                        now=self._clock, words=words)

    async def answer(self, records: Sequence[Record], options: SyncOptions,
                     access: Access = Access(), *, progress: Progress,
                     words: Words = neutral_words) -> SyncAnswers:
        """Answer in-memory records as ``run_sync`` answers a file's rows."""
        from loom_core.services.run_sync import answer_records

        provider = self._sync_adapter(options.provider, access, options.workers)
        return await answer_records(records, options, provider=provider, cache=self.cache,
                                    progress=progress, now=self._clock, words=words)

    def submit(self, request: SubmitRequest, access: Access = Access(), *,
               guard: OutputGuard) -> SubmitOutcome:
        """``loom run``: send a file as a batch job and remember it."""
        from loom_core.services.submit import submit_batch

        provider = self.adapter(request.provider, "batch", access)
        try:
            located = attrs.evolve(
                request, source=self._anchored(request.source),
                output=None if request.output is None else self._anchored(request.output),
                base_url=self.batch_address(request.provider, access))
            return submit_batch(located, codecs=self.codecs, provider=provider,
                                store=self.store, cache=self.cache, guard=guard,
                                now=self._clock)
        finally:
            provider.close()

    def _anchored(self, path: str) -> str:
        """``path`` anchored to the caller's working directory (links left as they are)."""
        return os.path.normpath(os.path.join(self._working_dir(), path))

    def count_tokens(self, request: TokenRequest, access: Access = Access(), *,
                     progress: Progress,
                     stop: StopToken | None = None, codecs: CodecRegistry | None = None,
                     words: Words = neutral_words) -> TokenSummary:
        """``loom tokens``: count every prompt's input tokens; ``codecs`` serves a dataset
        that is not a file (the library's in-memory records)."""
        from loom_core.services.tokens import count_tokens

        counter = self.adapter(request.provider, "tokens", access, concurrency=request.workers)
        return count_tokens(request, codecs=codecs or self.codecs, counter=counter,
                            progress=progress, stop=stop, words=words)

    def jobs(self, batch_id: str | None = None, *,
             provider: str | None = None) -> list[BatchJob | StateError]:
        """The jobs a fetch or cancel looks at: ``batch_id``'s, or every pending one (of
        ``provider`` when given); an unreadable state file comes as its error."""
        return [entry for entry in select_batches(self.store, batch_id)
                if isinstance(entry, StateError) or batch_id is not None
                or provider is None or entry.provider == provider]

    def fetch(self, jobs: Iterable[BatchJob | StateError], access: Access = Access(), *,
              guard: OutputGuard,
              keep: bool = False) -> Iterator[FetchOutcome | StateError]:
        """``loom fetch``: each job's outcome as soon as it is known (an unreadable state
        file passes through as its ``StateError``)."""
        from loom_core.services.fetch import FetchOptions, fetch_batch

        with self.batch_adapters(access) as provider_for:
            for entry in jobs:
                if isinstance(entry, StateError):
                    yield entry
                    continue
                yield fetch_batch(entry, provider_for=provider_for, codecs=self.codecs,
                                  store=self.store, cache=self.cache, guard=guard,
                                  options=FetchOptions(keep=keep))

    def cancel(self, jobs: Iterable[BatchJob | StateError],
               access: Access = Access()) -> Iterator[CancelOutcome]:
        """``loom cancel``: stop each job that still has a running part."""
        from loom_core.services.cancel import CancelOutcome, cancel_job, cancellable

        with self.batch_adapters(access) as provider_for:
            for job in jobs:
                if not isinstance(job, BatchJob) or not cancellable(job):
                    continue
                try:
                    status = cancel_job(job, provider_for=provider_for, store=self.store)
                except LoomError as error:
                    yield CancelOutcome(job, job.status, error)
                else:
                    yield CancelOutcome(job, status)

    def list_jobs(self) -> list[BatchJob | StateError]:
        """Every remembered job, oldest first; unreadable state files as their errors."""
        return list(self.store.all())

    def clear_cache(self) -> int:
        """Delete every cached answer; how many there were."""
        return self.cache.clear()

    def cache_stats(self) -> CacheStats:
        """How many answers the cache holds, how much disk they take, by provider and model."""
        return self.cache.stats()

    def prune_cache(self, days: float, now: datetime) -> int:
        """Delete the answers cached more than ``days`` days before ``now``; how many."""
        from loom_core.services.manage import prune_cache

        return prune_cache(self.cache, days, now)


class BatchAdapters:
    """Batch adapters for remembered jobs, one per provider and address, built when first
    needed and closed together at the end of the ``with`` block."""

    def __init__(self, build: Callable[[str, str | None], BatchProvider],
                 base_url: str | None = None) -> None:
        self._build = build
        self._base_url = base_url
        self._adapters: dict[tuple[str, str | None], BatchProvider] = {}

    def __call__(self, job: BatchJob) -> BatchProvider:
        where = (job.provider, self._base_url or job.base_url)
        if where not in self._adapters:
            self._adapters[where] = self._build(*where)
        return self._adapters[where]

    def __enter__(self) -> BatchAdapters:
        return self

    def __exit__(self, *exc: object) -> None:
        for adapter in self._adapters.values():
            adapter.close()
        self._adapters.clear()


class _BuiltAtFirstCall:
    """A ``SyncProvider`` that builds the real one when the first prompt needs it."""

    def __init__(self, build: Callable[[], SyncProvider]) -> None:
        self._build = build
        self._adapter: SyncProvider | None = None

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        if self._adapter is None:
            self._adapter = self._build()
        return await self._adapter.generate(model, prompt, settings)

    async def aclose(self) -> None:
        if self._adapter is not None:
            await self._adapter.aclose()
