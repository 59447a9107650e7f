"""How answers become output columns: the one place that names ``llm_response`` and friends.

Both modes end here: sync mode with the answers it just got, batch mode with the results it
downloaded. Rows are matched by their key (never by position), and a row with no answer gets
an ``llm_error`` saying so instead of a silent empty cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .model import Completion, Record, RowKey
from .ports import FileCodec

__all__ = ["MergeStats", "NO_ANSWER", "OutputColumns", "write_merged"]

RESPONSE = "llm_response"
ERROR = "llm_error"
PROVIDER = "llm_provider"
MODEL = "llm_model"

#: The error a row gets when its answer is nowhere among the results.
NO_ANSWER = "no answer for this row in the provider's results"


@attrs.frozen
class OutputColumns:
    """Which columns a run adds, fixed before the first row is written."""

    with_meta: bool
    with_error: bool

    def names(self) -> list[str]:
        names = [RESPONSE]
        if self.with_meta:
            names += [PROVIDER, MODEL]
        if self.with_error:
            names.append(ERROR)
        return names


@attrs.define
class MergeStats:
    """What the merge wrote: rows in all, answered rows, rows whose cell holds an error."""

    rows: int = 0
    answered: int = 0
    errors: int = 0


def write_merged(
    codec: FileCodec,
    source: str,
    destination: str,
    prompt_column: str | None,
    answers: Mapping[RowKey, Completion],
    *,
    row_count: int,
    provider: str,
    model: str,
    with_meta: bool,
) -> MergeStats:
    """Write ``source`` to ``destination`` with each row's answer (by row key) merged in.

    ``row_count`` is how many rows the source has; with it the error column can be chosen
    before the first row is written, so a clean run adds exactly the seed's columns.
    """
    some_row_failed = len(answers) < row_count or any(not c.ok for c in answers.values())
    names = OutputColumns(with_meta=with_meta, with_error=some_row_failed).names()
    stats = MergeStats()

    def values(record: Record) -> dict[str, Any]:
        completion = answers.get(record.key)
        if completion is None and not isinstance(record.key, str):
            # An id_map written with the id as a string ("1" for the JSON id 1) still matches.
            completion = answers.get(str(record.key))
        completion = completion or Completion.failure(NO_ANSWER)
        stats.rows += 1
        if completion.ok:
            stats.answered += 1
        else:
            stats.errors += 1
        row: dict[str, Any] = {RESPONSE: completion.text if completion.ok else None}
        if with_meta:
            row[PROVIDER] = provider
            row[MODEL] = model
        if some_row_failed:
            row[ERROR] = completion.error
        return row

    codec.write(source, destination, prompt_column, names, values)
    return stats
