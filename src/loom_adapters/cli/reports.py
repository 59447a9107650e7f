"""What batch commands print: a submitted job, a job's parts, a fetch's outcome.

Kept in one place so ``loom run``, ``loom fetch``, ``loom list`` and ``loom cancel`` describe a
job the same way. Data goes to stdout; problems to stderr.
"""

from __future__ import annotations

import os
import sys

from loom_core.model import BatchJob, BatchStatus
from loom_core.services.fetch import FetchOutcome
from loom_core.services.submit import SubmitOutcome

from .words import cli_words

__all__ = ["part_lines", "report_fetched", "report_submitted", "shown_path"]


def shown_path(path: str) -> str:
    """A remembered path as the user would have typed it: relative to the working directory
    when it lies under it, else absolute (jobs remember their paths absolute)."""
    here = os.getcwd()
    absolute = os.path.abspath(path)
    if os.path.commonpath([here, absolute]) == here:
        return os.path.relpath(absolute, here)
    return absolute

_UNSUCCESSFUL = (BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED)


def part_lines(job: BatchJob) -> list[str]:
    """One line per part of a job sent as several provider batches; none for one batch."""
    if len(job.parts) == 1:
        return []
    return [f"  part {part.index + 1}/{len(job.parts)}: {part.batch_id or '(not sent yet)'} "
            f"{part.status.value} ({part.size:,} rows)" for part in job.parts]


def report_submitted(outcome: SubmitOutcome) -> None:
    job = outcome.job
    if job is None:
        written = outcome.written
        print(f"All {outcome.rows:,} rows were answered from the cache; nothing was sent. "
              f"-> {shown_path(written.output_path) if written else '?'}")
        return
    if len(job.parts) == 1:
        print(f"Batch submitted. id={job.batch_id} provider={job.provider}")
    else:
        print(f"Batch submitted. id={job.job_id} provider={job.provider} "
              f"parts={len(job.parts)}")
        for line in part_lines(job):
            print(line)
    if outcome.cached:
        print(f"  {outcome.cached:,} of {outcome.rows:,} rows were answered from the cache "
              f"and not sent.")


def report_fetched(outcome: FetchOutcome) -> bool:
    """Print one job's outcome; return whether it went as a user would want."""
    job = outcome.job
    name = job.batch_id if len(job.parts) == 1 else job.job_id
    if outcome.error is not None:
        print(f"Batch {name} ({job.provider}): {outcome.status.value} — "
              f"{outcome.error.render(cli_words)}", file=sys.stderr)
        return False
    merged = outcome.merged
    if merged is not None and outcome.status is BatchStatus.COMPLETED:
        print(f"Fabric complete. id={name} -> {shown_path(outcome.output_path)}")
    elif merged is not None:
        print(f"Batch {name} ({job.provider}): {outcome.status.value} — "
              f"{outcome.status.explanation} Kept the {merged.answered:,} answers it has "
              f"-> {shown_path(outcome.output_path)}")
    else:
        print(f"Batch {name} ({job.provider}, {job.model}): {outcome.status.value} — "
              f"{outcome.status.explanation}")
        for line in part_lines(job):
            print(line)
        return outcome.status not in _UNSUCCESSFUL
    if merged.errors:
        print(f"  {merged.errors:,} of {merged.rows:,} rows have no answer; see the llm_error "
              f"column. Run the same loom run again to send only those rows.", file=sys.stderr)
    print(f"  {merged.rows:,} rows: {merged.answered:,} answered ({merged.from_cache:,} from "
          f"the cache), {merged.errors:,} errors; tokens {merged.input_tokens:,} in / "
          f"{merged.output_tokens:,} out")
    return merged.errors == 0 and outcome.status is BatchStatus.COMPLETED
