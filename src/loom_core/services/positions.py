"""Giving answers that came back without their custom id the id of the request they answer.

Used by ``loom fetch`` as it keeps a part's results. A provider may hand an answer back under
its position (an ``int``) in a list it documents to be in request order, when the answer lost
its custom id on the way (Gemini's inline results can lack the metadata the request carried).
The part's request order is the job's: ``BatchJob.sent_ids``. Positions are trusted only in a
list that came back whole and uniform: one entry per request sent, none with an id. A list
with an entry missing or doubled would shift every position after it, and one where some
answers kept their ids and others did not is not what the provider documents; either way a
wrong answer in a row is worse than none, so those rows are left without an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import BatchJob, BatchPart, Completion

__all__ = ["by_custom_id"]


def by_custom_id(job: BatchJob, part: BatchPart, results: Iterable[tuple[str | int, Completion]],
                 ) -> Iterator[tuple[str, Completion]]:
    """``results`` with every answer under its custom id; answers whose position cannot be
    trusted are left out, so their rows get no answer rather than another row's."""
    by_position: dict[int, Completion] = {}
    entries = 0
    for key, completion in results:
        entries += 1
        if isinstance(key, int):
            by_position[key] = completion
        else:
            yield key, completion
    if by_position and entries == part.size and sorted(by_position) == list(range(entries)):
        yield from zip(job.sent_ids(part), (by_position[n] for n in range(entries)))
