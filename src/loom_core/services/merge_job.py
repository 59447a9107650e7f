"""Writing a batch job's output: its downloaded answers, plus the rows the cache answered.

Rows answered from the cache were never sent; rows sent are answered by their part's results
(kept on disk by ``loom fetch`` before merging, so a crash here needs no second download).
Every downloaded answer goes into the cache on the way, so the same prompt is never paid
twice, and a re-run of the same ``loom run`` sends only the rows that still have no answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from ..cache_key import cache_key
from ..cache_writer import CacheWriter
from ..clock import utc_now
from ..merge import answer_for, write_merged
from ..model import BatchJob, CacheEntry, Completion, RowKey
from ..ports import FileCodec, OutputGuard, ResponseCache
from ..template import PromptTemplate
from .dataset import ensure_writable

__all__ = ["MergeOutcome", "merge_from_cache", "merge_job"]

#: Entries waiting for the cache writers, at most, so memory stays flat however many rows.
_WRITES_PENDING = 256


@attrs.frozen
class MergeOutcome:
    output_path: str
    rows: int
    answered: int
    #: Rows whose cell holds an error: failed requests and rows with no answer at all.
    errors: int
    from_cache: int
    input_tokens: int = 0
    output_tokens: int = 0


def merge_from_cache(job: BatchJob, *, codec: FileCodec, cache: ResponseCache,
                     guard: OutputGuard, destination: str) -> MergeOutcome:
    """The output of a job whose every row the cache answers."""
    ensure_writable(guard, destination)
    return merge_job(job, [], codec=codec, cache=cache, destination=destination)


class _JobAnswers(Mapping[RowKey, Completion]):
    """Each row's answer: from a part's kept results (read when looked up), else the cache."""

    def __init__(self, job: BatchJob, kept: Sequence[Mapping[str, Completion]]) -> None:
        self._kept = kept
        self._custom_ids = {row_key: custom_id for custom_id, row_key in job.id_map.items()}
        self.cached: dict[RowKey, Completion] = {}

    def __getitem__(self, row_key: RowKey) -> Completion:
        custom_id = self._custom_ids.get(row_key)
        if custom_id is not None:
            for results in self._kept:
                if custom_id in results:
                    return results[custom_id]
        return self.cached[row_key]

    def __iter__(self) -> Iterator[RowKey]:
        return iter(key for key in {**self._custom_ids, **self.cached} if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def merge_job(job: BatchJob, kept: Sequence[Mapping[str, Completion]], *, codec: FileCodec,
              cache: ResponseCache, destination: str,
              now: Callable[[], str] = utc_now) -> MergeOutcome:
    """Write ``destination`` from the job's ``kept`` part results (by custom id) and the cache."""
    answers = _JobAnswers(job, kept)

    template = PromptTemplate(job.prompt_template) if job.prompt_template is not None else None
    created_at = now()
    params = job.settings.set_fields() or None
    keys: list[RowKey] = []
    from_cache = input_tokens = output_tokens = 0
    # Cache files are written by two threads beside the merge: a file per answer is the slow
    # part of merging a large batch. More threads do not help: creating files in one folder
    # takes the folder's lock in the kernel (measured: 4 threads were no faster than 2).
    with CacheWriter(cache, threads=2, pending=_WRITES_PENDING) as writer:
        for record in codec.read(job.original_file_path, job.prompt_column, template):
            keys.append(record.key)
            key = cache_key(job.provider, job.model, record.prompt, job.settings)
            completion = answer_for(answers, record.key)
            if completion is None:
                entry = cache.get(key)
                if entry is not None:
                    answers.cached[record.key] = entry.to_completion()
                    from_cache += 1
                continue
            if completion.ok:
                input_tokens += completion.input_tokens or 0
                output_tokens += completion.output_tokens or 0
                writer.put(key, CacheEntry.from_completion(
                    completion, provider=job.provider, model=job.model,
                    created_at=created_at, params=params))

    stats = write_merged(codec, job.original_file_path, destination, answers, keys=keys,
                         provider=job.provider, model=job.model, with_meta=job.with_meta)
    return MergeOutcome(output_path=destination, rows=stats.rows, answered=stats.answered,
                        errors=stats.errors, from_cache=from_cache,
                        input_tokens=input_tokens, output_tokens=output_tokens)
