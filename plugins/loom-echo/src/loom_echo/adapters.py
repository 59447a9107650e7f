"""The echo provider's adapters: sync, batch and token counting, all offline.

Answers depend only on the model name and the prompt (see ``answer``), so a run can be checked
row by row. Batches are JSONL files under ``$LOOM_HOME/echo/``, complete once written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from loom.plugin import (
    BatchLimits,
    BatchProvider,
    BatchRequest,
    BatchStatus,
    Completion,
    GenerationSettings,
    PermanentError,
)

__all__ = ["EchoBatch", "EchoSync", "EchoTokens", "answer", "count_words"]


def answer(model: str, prompt: str) -> str:
    """The echo model's reply: ``upper`` and ``reverse`` transform, anything else repeats."""
    if model == "upper":
        return prompt.upper()
    if model == "reverse":
        return prompt[::-1]
    return prompt


def count_words(text: str) -> int:
    """The echo provider's token count: one per whitespace-separated word."""
    return len(text.split())


def _completion(model: str, prompt: str, settings: GenerationSettings) -> Completion:
    text = answer(model, prompt)
    return Completion(text=text, input_tokens=count_words((settings.system or "") + " " + prompt),
                      output_tokens=count_words(text))


class EchoSync:
    """``SyncProvider``: answers at once."""

    async def generate(self, model: str, prompt: str, settings: GenerationSettings) -> Completion:
        return _completion(model, prompt, settings)

    async def aclose(self) -> None:
        pass


class EchoTokens:
    """``TokenCounter``: one token per word."""

    async def count(self, model: str, prompt: str, settings: GenerationSettings) -> int:
        return count_words((settings.system or "") + " " + prompt)

    async def aclose(self) -> None:
        pass


class EchoBatch(BatchProvider):
    """``BatchProvider``: a batch is a JSONL file of answers, complete as soon as it exists."""

    #: An echo batch may hold any number of requests.
    limits = BatchLimits()

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, batch_id: str) -> Path:
        if not batch_id.startswith("echo-") or not batch_id[5:].isalnum():
            raise PermanentError(f"echo has no batch {batch_id!r}")
        return self.folder / f"{batch_id}.jsonl"

    def submit(self, model: str, requests: Sequence[BatchRequest], settings: GenerationSettings,
               metadata: Mapping[str, str]) -> str:
        batch_id = f"echo-{uuid.uuid4().hex}"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(batch_id)
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for request in requests:
                completion = _completion(model, request.prompt, settings)
                out.write(json.dumps({"custom_id": request.custom_id, "text": completion.text,
                                      "input_tokens": completion.input_tokens,
                                      "output_tokens": completion.output_tokens}) + "\n")
        temporary.replace(path)
        return batch_id

    def status(self, batch_id: str) -> BatchStatus:
        if not self._path(batch_id).exists():
            raise PermanentError(f"echo has no batch {batch_id!r}")
        return BatchStatus.COMPLETED

    def results(self, batch_id: str) -> Iterator[tuple[str, Completion]]:
        with self._path(batch_id).open(encoding="utf-8") as lines:
            for line in lines:
                item = json.loads(line)
                yield item["custom_id"], Completion(
                    text=item["text"], input_tokens=item["input_tokens"],
                    output_tokens=item["output_tokens"],
                )

    def cancel(self, batch_id: str) -> None:
        # An echo batch is complete the moment it exists; there is nothing left to stop.
        self.status(batch_id)

    def close(self) -> None:
        pass  # nothing held open between calls
