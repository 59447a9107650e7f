"""``Loom``: the library face over the application layer.

It does what the command line does, by the same path: the composition root's ``Application``
(plugins from the ``loom`` entry points as ``LOOM_PLUGINS`` allows, the cache and batch state
under ``LOOM_HOME``, keys from the argument > environment > ``.env``), given the core's
requests. Only the edges differ: results are returned instead of printed, errors are raised
(``LoomError`` subclasses, worded with this library's argument names), an existing output is
replaced only with ``overwrite=True``, and progress is silent unless a ``Progress`` is given.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

import attrs

from loom_core.errors import LoomError, ProviderError, StateError, UsageError
from loom_core.model import BatchJob, Completion, GenerationSettings
from loom_core.ports import Progress, SilentProgress
from loom_core.retry import RetryPolicy
from loom_core.services.cancel import CancelOutcome
from loom_core.services.fetch import FetchOutcome
from loom_core.services.run_sync import SyncOptions, SyncRequest, SyncSummary
from loom_core.services.submit import SubmitOutcome, SubmitRequest
from loom_core.services.tokens import TokenRequest, TokenSummary

from ._ports import OverwriteGuard
from ._records import RECORDS_SOURCE, Item, RecordsCodec, records_from
from ._words import claim, in_library_words, library_words

if TYPE_CHECKING:
    from loom_adapters.application import Application
    from loom_adapters.container import Container

__all__ = ["Loom"]

PathLike = Union[str, "os.PathLike[str]"]

_SETTING_NAMES = tuple(field.name for field in attrs.fields(GenerationSettings))


class Loom:
    """One provider and model, with settings, as an application calls them.

    >>> loom = Loom("echo", "upper", temperature=0)          # doctest: +SKIP
    >>> loom.generate("hello")                                # doctest: +SKIP
    'HELLO'

    ``settings`` is a ``GenerationSettings`` or a dict of its fields; keyword settings
    (``temperature=``, ``max_tokens=``, ``system=``, ... any ``GenerationSettings`` field)
    are applied on top. ``api_key`` and ``base_url`` override the environment, as
    ``--api-key`` and ``--base-url`` do. ``container`` is the composition root to use (tests
    and apps may override its providers); by default a new one.
    """

    def __init__(
        self,
        provider: str,
        model: str,
        *,
        settings: GenerationSettings | Mapping[str, Any] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        workers: int = 8,
        max_retries: int = 5,
        use_cache: bool = True,
        container: Container | None = None,
        progress: Progress | None = None,
        **setting_values: Any,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise UsageError(f"workers must be a whole number of at least 1, not {workers!r}.")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise UsageError(f"max_retries must be a whole number of at least 0, not "
                             f"{max_retries!r}.")
        from loom_adapters.application import Access

        if container is None:
            from loom_adapters.container import create_container

            container = create_container()
        self._app: Application = container.application()
        for failure in self._app.plugin_failures():
            warnings.warn(f"Loom: {failure}", RuntimeWarning, stacklevel=2)
        with in_library_words():
            # An unknown provider is refused now, not at the first call.
            self._app.spec(provider)
            self._settings = _settings(settings, setting_values)
        self._provider = provider
        self._model = model
        self._access = Access(api_key=api_key, base_url=base_url)
        self._workers = workers
        self._max_retries = max_retries
        self._use_cache = use_cache
        self._progress = progress

    # --- what this Loom is ---------------------------------------------------------------

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    @property
    def settings(self) -> GenerationSettings:
        return self._settings

    def __repr__(self) -> str:
        return f"Loom({self._provider!r}, {self._model!r}, settings={self._settings!r})"

    def with_settings(self, **changes: Any) -> Loom:
        """A Loom like this one with some settings changed (same container, key and options).

        >>> creative = loom.with_settings(temperature=1.0)     # doctest: +SKIP
        """
        other = object.__new__(Loom)
        other.__dict__.update(self.__dict__)
        with in_library_words():
            other._settings = _settings(self._settings, changes)
        return other

    # --- one prompt ------------------------------------------------------------------------

    def generate(self, prompt: str) -> str:
        """The answer's text; raises the ``LoomError`` that kept it from coming."""
        _refuse_inside_event_loop("generate", "agenerate")
        return self.complete(prompt).text or ""

    def complete(self, prompt: str) -> Completion:
        """The whole answer (text, finish reason, token usage); raises on failure."""
        _refuse_inside_event_loop("complete", "acomplete")
        return asyncio.run(self.acomplete(prompt))

    async def agenerate(self, prompt: str) -> str:
        return (await self.acomplete(prompt)).text or ""

    async def acomplete(self, prompt: str) -> Completion:
        with in_library_words():
            if not isinstance(prompt, str):
                raise UsageError(f"A prompt is a string, not {type(prompt).__name__}; for many "
                                 f"prompts use generate_many().")
            completions, failures = await self._answer([prompt], None, None)
            if 0 in failures:
                raise _as_loom_error(failures[0])
            return completions[0]

    # --- many prompts ----------------------------------------------------------------------

    def generate_many(self, items: Iterable[Item], *, template: str | None = None,
                      prompt_column: str | None = None) -> list[Completion]:
        """Answer every item, in order; each answer is a ``Completion``, failed or not.

        Items are prompt strings, or dicts whose prompt is their ``prompt_column`` field
        (``prompt`` by default) or is built by ``template`` from their fields. The run is
        ``loom run --sync``'s: cache first, identical prompts asked once, ``workers`` calls in
        flight, rate limits and transient faults retried. A row that fails has
        ``completion.ok`` False and the reason in ``completion.error``; only an error that
        would fail every row alike (a setting the provider refuses) is raised.
        """
        _refuse_inside_event_loop("generate_many", "agenerate_many")
        return asyncio.run(self.agenerate_many(items, template=template,
                                               prompt_column=prompt_column))

    async def agenerate_many(self, items: Iterable[Item], *, template: str | None = None,
                             prompt_column: str | None = None) -> list[Completion]:
        """``generate_many`` for code already inside an event loop."""
        with in_library_words():
            completions, _failures = await self._answer(items, template, prompt_column)
            return completions

    async def _answer(self, items: Iterable[Item], template: str | None,
                      prompt_column: str | None) -> tuple[list[Completion], dict[Any, Exception]]:
        records = records_from(items, template=template, prompt_column=prompt_column)
        if not records:
            return [], {}
        answers = await self._app.answer(
            records, SyncOptions(provider=self._provider, model=self._model,
                                 settings=self._settings, workers=self._workers,
                                 use_cache=self._use_cache, retry=self._retry()),
            self._access, progress=self._progress_or_silence(), words=library_words)
        return [answers.completions[r.key] for r in records], dict(answers.failures)

    # --- files -----------------------------------------------------------------------------

    def run_file(self, path: PathLike, *, prompt_column: str | None = None,
                 template: str | None = None, output: PathLike | None = None,
                 overwrite: bool = False, with_meta: bool = False) -> SyncSummary:
        """``loom run --sync``: answer every row of a dataset file now and write the output.

        The output is ``output`` or ``<name>_results_<provider>_<model>.<ext>`` beside the
        input; an existing one is replaced only with ``overwrite=True`` (else
        ``OutputExistsError`` before anything is sent). Rows that failed are counted in
        ``summary.errors`` and have their reason in the ``llm_error`` column.
        """
        _refuse_inside_event_loop("run_file", None)
        with in_library_words():
            return self._app.run_sync(
                SyncRequest(**self._dataset(path, prompt_column, template, output, with_meta),
                            workers=self._workers, use_cache=self._use_cache,
                            retry=self._retry()),
                self._access, guard=OverwriteGuard(overwrite),
                progress=self._progress_or_silence(), words=library_words)

    def submit_file(self, path: PathLike, *, prompt_column: str | None = None,
                    template: str | None = None, output: PathLike | None = None,
                    overwrite: bool = False, with_meta: bool = False) -> SubmitOutcome:
        """``loom run``: send a dataset file as a batch and remember it under ``LOOM_HOME``.

        Returns the submit service's outcome: ``outcome.job`` is the remembered ``BatchJob``
        (None when the cache answered every row and the output was written at once, which
        ``overwrite`` governs). ``fetch()`` later merges the answers into ``output``. Both
        paths are remembered absolute, so a fetch from another working directory finds them.
        """
        with in_library_words():
            return self._app.submit(
                SubmitRequest(**self._dataset(path, prompt_column, template, output, with_meta),
                              use_cache=self._use_cache),
                self._access, guard=OverwriteGuard(overwrite))

    def fetch(self, batch_id: str | None = None, *, keep: bool = False,
              overwrite: bool = False) -> list[FetchOutcome]:
        """``loom fetch``: look at remembered batches and merge the finished ones.

        Without ``batch_id``, every pending batch of this Loom's provider; with it, that batch
        (``UsageError`` if none is remembered). One outcome per batch: ``outcome.status``,
        ``outcome.output_path`` once merged, ``outcome.problem`` when it could not be looked
        at or merged (the batch stays remembered and a later fetch tries again). A merged
        batch is forgotten unless ``keep``; an existing output is replaced only with
        ``overwrite``. An unreadable state file is skipped with a ``RuntimeWarning``.
        """
        with in_library_words():
            outcomes = []
            for outcome in self._app.fetch(self._jobs(batch_id), self._access,
                                           guard=OverwriteGuard(overwrite), keep=keep):
                if outcome.error is not None:
                    claim(outcome.error)
                outcomes.append(outcome)
            return outcomes

    def cancel(self, batch_id: str | None = None) -> list[CancelOutcome]:
        """``loom cancel``: stop a remembered batch job at the provider (all of this Loom's
        provider's pending jobs without ``batch_id``). The answers a job finished are merged
        by the next ``fetch()``. One outcome per job that had a running part:
        ``outcome.status`` as the provider now sees it, or ``outcome.error``."""
        with in_library_words():
            outcomes = list(self._app.cancel(self._jobs(batch_id), self._access))
            for outcome in outcomes:
                if outcome.error is not None:
                    claim(outcome.error)
            return outcomes

    def _jobs(self, batch_id: str | None) -> list[BatchJob]:
        jobs: list[BatchJob] = []
        for entry in self._app.jobs(batch_id, provider=self._provider):
            if isinstance(entry, StateError):  # an unreadable state file
                warnings.warn(f"Loom: skipping a batch: {entry}", RuntimeWarning, stacklevel=3)
            else:
                jobs.append(entry)
        return jobs

    # --- token counts ----------------------------------------------------------------------

    def count_tokens(self, items: Iterable[Item], *, template: str | None = None,
                     prompt_column: str | None = None) -> TokenSummary:
        """``loom tokens`` for in-memory items (as ``generate_many`` takes them)."""
        _refuse_inside_event_loop("count_tokens", None)
        with in_library_words():
            records = records_from(items, template=template, prompt_column=prompt_column)
            if not records:
                return TokenSummary(total=0, prompts=0, errors=0)
            return self._app.count_tokens(
                self._token_request(RECORDS_SOURCE, None, None), self._access,
                progress=self._progress_or_silence(), codecs=RecordsCodec(records).registry(),
                words=library_words)

    def count_file_tokens(self, path: PathLike, *, prompt_column: str | None = None,
                          template: str | None = None) -> TokenSummary:
        """``loom tokens``: the input tokens of every prompt of a dataset file."""
        _refuse_inside_event_loop("count_file_tokens", None)
        with in_library_words():
            return self._app.count_tokens(
                self._token_request(os.fspath(path), prompt_column, template), self._access,
                progress=self._progress_or_silence(), words=library_words)

    # --- requests, as the command line builds them --------------------------------------------

    def _dataset(self, path: PathLike, prompt_column: str | None, template: str | None,
                 output: PathLike | None, with_meta: bool) -> dict[str, Any]:
        return dict(source=os.fspath(path), provider=self._provider, model=self._model,
                    prompt_column=prompt_column, template=template,
                    output=None if output is None else os.fspath(output),
                    settings=self._settings, with_meta=with_meta)

    def _token_request(self, source: str, prompt_column: str | None,
                       template: str | None) -> TokenRequest:
        return TokenRequest(source=source, provider=self._provider, model=self._model,
                            prompt_column=prompt_column, template=template,
                            settings=self._settings, workers=self._workers, retry=self._retry())

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self._max_retries)

    def _progress_or_silence(self) -> Progress:
        return self._progress or SilentProgress()


def _settings(base: GenerationSettings | Mapping[str, Any] | None,
              changes: Mapping[str, Any]) -> GenerationSettings:
    if base is None:
        base = GenerationSettings()
    elif isinstance(base, Mapping):
        changes = {**base, **changes}
        base = GenerationSettings()
    elif not isinstance(base, GenerationSettings):
        raise UsageError(f"settings must be a GenerationSettings or a dict, not "
                         f"{type(base).__name__}.")
    unknown = sorted(set(changes) - set(_SETTING_NAMES))
    if unknown:
        raise UsageError(f"Unknown setting {', '.join(map(repr, unknown))}; the settings are: "
                         f"{', '.join(_SETTING_NAMES)}.")
    try:
        return attrs.evolve(base, **changes)
    except (TypeError, ValueError) as error:
        raise UsageError(f"Invalid settings: {error}") from None


def _refuse_inside_event_loop(method: str, instead: str | None) -> None:
    """The services run their pool with ``asyncio.run``, which cannot start inside a running
    event loop: say what to do instead, before anything is started."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if instead is not None:
        advice = f"await Loom.{instead}(...) instead"
    else:
        advice = f"call it in a thread: await asyncio.to_thread(loom.{method}, ...)"
    raise UsageError(f"Loom.{method}() cannot run inside a running event loop; {advice}.")


def _as_loom_error(error: Exception) -> LoomError:
    if isinstance(error, LoomError):
        return error
    # An adapter bug: still one failed call, reported as the provider call that failed.
    wrapped = ProviderError(f"{type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped
