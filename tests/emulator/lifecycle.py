"""Provider-neutral batch lifecycle: planned states, cancellation, per-request outcomes.

Each provider module renders a `Batch` in its own vocabulary; this module only knows
the canonical states below and which requests got answers. A batch reports its
states from a queue: `create` shows the first planned state without using it up,
each retrieve takes the next one, and the last one stays.

A cancel is not instant on the real APIs: the batch reports `cancelling` (OpenAI
`cancelling`, Anthropic `canceling`; the Gemini API has no such state and shows the
batch running) while the requests in flight finish, and only later `cancelled`. Here
it stays `cancelling` for `cancelling` retrieves after the cancel request, or, when
`cancelling` is None, until the control API ends it.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .replies import FAIL_MARKER, count_words, input_tokens, reply_text

CANONICAL = ("pending", "running", "finalizing", "cancelling",
             "completed", "failed", "expired", "cancelled")
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})

_ALIASES = {
    "validating": "pending", "in_progress": "running", "canceling": "cancelling",
    "ended": "completed", "succeeded": "completed", "canceled": "cancelled",
}
for _name in ("pending", "running", "succeeded", "failed", "cancelling", "cancelled", "expired"):
    _canon = _ALIASES.get(_name, _name)
    _ALIASES[f"JOB_STATE_{_name.upper()}"] = _canon
    _ALIASES[f"BATCH_STATE_{_name.upper()}"] = _canon

_PROVIDER_NAMES = {
    "openai": {
        "pending": "validating", "running": "in_progress", "finalizing": "finalizing",
        "cancelling": "cancelling", "completed": "completed", "failed": "failed",
        "expired": "expired", "cancelled": "cancelled",
    },
    # Anthropic has three statuses; how a batch ended shows in its results.
    "anthropic": {
        "pending": "in_progress", "running": "in_progress", "finalizing": "in_progress",
        "cancelling": "canceling", "completed": "ended", "expired": "ended",
        "cancelled": "ended",
    },
    # The Gemini API's BatchState has no cancelling value: a batch being cancelled shows
    # as RUNNING until it ends (the SDK's JOB_STATE_CANCELLING is Vertex AI's).
    "gemini": {
        "pending": "BATCH_STATE_PENDING", "running": "BATCH_STATE_RUNNING",
        "finalizing": "BATCH_STATE_RUNNING", "cancelling": "BATCH_STATE_RUNNING",
        "completed": "BATCH_STATE_SUCCEEDED", "failed": "BATCH_STATE_FAILED",
        "expired": "BATCH_STATE_EXPIRED", "cancelled": "BATCH_STATE_CANCELLED",
    },
}

DEFAULT_PLAN = ("pending", "completed")
#: Retrieves after a cancel request that still report `cancelling`, unless planned otherwise.
DEFAULT_CANCELLING = 1

SUCCEEDED, ERRORED, EXPIRED, CANCELLED = "succeeded", "errored", "expired", "cancelled"


def canonical(state: str, provider: str) -> str:
    """Canonical name of a state given in any provider's vocabulary."""
    canon = state if state in CANONICAL else _ALIASES.get(state)
    if canon is None:
        raise ValueError(f"unknown batch state {state!r}")
    if canon not in _PROVIDER_NAMES[provider]:
        raise ValueError(f"{provider} batches have no {state!r} state")
    return canon


def provider_state(provider: str, canon: str) -> str:
    return _PROVIDER_NAMES[provider][canon]


@dataclass
class Item:
    """One request inside a batch."""

    custom_id: str
    model: str
    prompt: str
    texts: list[str]
    metadata: Any = None
    invalid: Optional[str] = None  # validation message: the request errors at once

    @property
    def fails(self) -> bool:
        return self.invalid is not None or FAIL_MARKER in self.prompt

    @property
    def error_message(self) -> str:
        return self.invalid or f"Emulated failure: the prompt contains {FAIL_MARKER}."

    @property
    def answer(self) -> str:
        return reply_text(self.model, self.prompt)

    @property
    def input_tokens(self) -> int:
        return input_tokens(self.texts)

    @property
    def output_tokens(self) -> int:
        return count_words(self.answer)


@dataclass
class Batch:
    provider: str
    id: str
    seq: int
    items: list[Item]
    seed: int
    plan: list[str]
    partial: Union[int, float, None] = None
    cancelling: Optional[int] = DEFAULT_CANCELLING  # None: until the control API ends it
    extra: dict = field(default_factory=dict)  # provider-specific fields
    errors: list = field(default_factory=list)  # batch-level validation errors
    created_at: float = field(default_factory=time.time)
    entered: dict = field(default_factory=dict)  # canonical state -> time first entered
    outcomes: Optional[list] = None
    current: str = ""
    queue: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.order = self._shuffled()
        self.queue = deque(self.plan)
        self._enter(self.plan[0])

    def _shuffled(self) -> list[int]:
        order = list(range(len(self.items)))
        random.Random(f"{self.seed}:{self.provider}:{self.seq}").shuffle(order)
        if len(order) >= 2 and order == sorted(order):
            # Tests rely on results never coming back in submission order.
            order = order[1:] + order[:1]
        return order

    @property
    def state(self) -> str:
        """Current state in the provider's own vocabulary."""
        return provider_state(self.provider, self.current)

    @property
    def done(self) -> bool:
        return self.current in TERMINAL

    def observe(self) -> str:
        """A retrieve: move to the next planned state, if any, and report it."""
        if self.queue:
            self._enter(self.queue.popleft())
        return self.current

    def force(self, state: str, partial: Union[int, float, None] = None) -> None:
        """Put the batch in `state` now (control API), recomputing its results."""
        if partial is not None:
            self.partial = partial
        self.queue.clear()
        self.outcomes = None
        self.extra.pop("materialized", None)
        self._enter(state)

    def cancel(self) -> bool:
        """A cancel request: `cancelling` now and for `cancelling` more retrieves, then
        `cancelled`. Asking again while it is cancelling changes nothing."""
        if self.done:
            return False
        if self.current == "cancelling":
            return True
        self.entered.setdefault("cancel_requested", time.time())
        self._enter("cancelling")
        if self.cancelling is None:
            self.queue = deque()
        else:
            self.queue = deque(["cancelling"] * self.cancelling + ["cancelled"])
        return True

    def _enter(self, state: str) -> None:
        self.current = state
        self.entered.setdefault(state, time.time())
        if state in TERMINAL and self.outcomes is None:
            self._finalize()

    def _partial_count(self, candidates: int) -> int:
        p = self.partial or 0
        if isinstance(p, float):
            return min(candidates, int(p * candidates))
        return min(candidates, int(p))

    def _finalize(self) -> None:
        if self.current == "failed":
            self.outcomes = [None] * len(self.items)
            return
        outcomes: list = [None] * len(self.items)
        # Invalid requests error out at once; `partial` counts among the others.
        valid = [i for i in self.order if self.items[i].invalid is None]
        finished = set(valid)
        if self.current in ("expired", "cancelled"):
            finished = set(valid[: self._partial_count(len(valid))])
        left = EXPIRED if self.current == "expired" else CANCELLED
        for i, item in enumerate(self.items):
            if item.invalid is not None:
                outcomes[i] = ERRORED
            elif i in finished:
                outcomes[i] = ERRORED if item.fails else SUCCEEDED
            else:
                outcomes[i] = left
        self.outcomes = outcomes

    def results(self) -> list[tuple[Item, str]]:
        """(item, outcome) pairs in the batch's shuffled order; empty until done."""
        if self.outcomes is None:
            return []
        return [(self.items[i], self.outcomes[i]) for i in self.order
                if self.outcomes[i] is not None]

    def counts(self) -> Counter:
        return Counter(o for o in (self.outcomes or []) if o is not None)

    def usage(self) -> tuple[int, int]:
        """(input, output) tokens over the requests that got an answer."""
        done = [item for item, o in self.results() if o == SUCCEEDED]
        return sum(i.input_tokens for i in done), sum(i.output_tokens for i in done)
