"""How answers become output columns: the one place that names ``llm_response`` and friends.

Both modes end here: sync mode with the answers it just got, batch mode with the results it
downloaded. Rows are matched by their key (never by position), and a row with no answer gets
an ``llm_error`` saying so instead of a silent empty cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .errors import InputError
from .model import Completion, Record, RowKey
from .ports import FileCodec

__all__ = ["MergeStats", "NO_ANSWER", "OutputColumns", "answer_for", "write_answers",
           "write_merged"]

RESPONSE = "llm_response"
ERROR = "llm_error"
PROVIDER = "llm_provider"
MODEL = "llm_model"
FINISH_REASON = "llm_finish_reason"
INPUT_TOKENS = "llm_input_tokens"
OUTPUT_TOKENS = "llm_output_tokens"

#: The error a row gets when its answer is nowhere among the results.
NO_ANSWER = "no answer for this row in the provider's results"


@attrs.frozen
class OutputColumns:
    """Which columns a run adds, fixed before the first row is written.

    ``--with-meta`` adds who answered (provider, model), why the answer ended when it ended
    early (``length``, ``content_filter``; empty for a natural end) and the tokens it used.
    """

    with_meta: bool
    with_error: bool

    def names(self) -> list[str]:
        names = [RESPONSE]
        if self.with_meta:
            names += [PROVIDER, MODEL, FINISH_REASON, INPUT_TOKENS, OUTPUT_TOKENS]
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
    answers: Mapping[RowKey, Completion],
    *,
    keys: Iterable[RowKey],
    provider: str,
    model: str,
    with_meta: bool,
) -> MergeStats:
    """Write ``source`` to ``destination`` with each row's answer (by row key) merged in.

    ``keys`` are the source's row keys; with them the error column is chosen before the first
    row is written, so a clean run adds exactly the seed's columns and a row without an answer
    always has its error shown.
    """
    some_row_failed = any(
        (completion := answer_for(answers, key)) is None or not completion.ok for key in keys
    )
    return write_answers(codec, source, destination,
                         lambda record: answer_for(answers, record.key),
                         with_error=some_row_failed, provider=provider, model=model,
                         with_meta=with_meta)


def write_answers(
    codec: FileCodec,
    source: str,
    destination: str,
    answer: Callable[[Record], Completion | None],
    *,
    with_error: bool,
    provider: str,
    model: str,
    with_meta: bool,
) -> MergeStats:
    """Write ``source`` to ``destination`` with ``answer(record)`` merged into each row, as the
    codec reaches it; ``with_error`` (whether any row has no answer or a failed one) must be
    known before the first row is written."""
    names = OutputColumns(with_meta=with_meta, with_error=with_error).names()
    stats = MergeStats()

    def values(record: Record) -> dict[str, Any]:
        completion = answer(record) or Completion.failure(NO_ANSWER)
        stats.rows += 1
        if completion.ok:
            stats.answered += 1
        else:
            stats.errors += 1
            if not with_error:
                # The source changed between choosing the columns and writing the rows:
                # better no output than a silent empty cell.
                raise InputError(f"{source} changed while it was being merged; run again.")
        row: dict[str, Any] = {RESPONSE: completion.text if completion.ok else None}
        if with_meta:
            row[PROVIDER] = provider
            row[MODEL] = model
            row[FINISH_REASON] = completion.finish_reason
            row[INPUT_TOKENS] = completion.input_tokens
            row[OUTPUT_TOKENS] = completion.output_tokens
        if with_error:
            row[ERROR] = completion.error
        return row

    codec.write(source, destination, names, values)
    return stats


def answer_for(answers: Mapping[RowKey, Completion], key: RowKey) -> Completion | None:
    completion = answers.get(key)
    if completion is None and not isinstance(key, str):
        # An id_map written with the id as a string ("1" for the JSON id 1) still matches.
        completion = answers.get(str(key))
    return completion
