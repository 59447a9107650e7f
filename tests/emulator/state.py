"""Everything the emulator remembers: stats, faults, plans, batches, files.

One `EmulatorState` lives in the server's event loop and is only touched from it,
so it needs no locks; the control API reads and changes it over HTTP.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from aiohttp import web

from .faults import PROVIDERS, FaultDecision, FaultRule, TokenBucket, decide
from .lifecycle import DEFAULT_CANCELLING, DEFAULT_PLAN, TERMINAL, Batch, Item, canonical

RECORD_LIMIT = 2000


@dataclass
class StoredFile:
    provider: str
    id: str
    filename: str
    data: bytes
    purpose: str = ""
    mime_type: str = "application/octet-stream"
    generated: bool = False
    created_at: float = field(default_factory=time.time)


@dataclass
class Plan:
    states: list[str]
    partial: Union[int, float, None] = None
    remaining: Optional[int] = None  # None: every batch created from now on
    # Retrieves a cancelled batch reports `cancelling` for; None: until set_batch_state ends it.
    cancelling: Optional[int] = DEFAULT_CANCELLING


class EmulatorState:
    def __init__(self, seed: int = 0, default_latency_ms: float = 0.0) -> None:
        self.seed = seed
        # Set at start-up (process mode); a reset comes back to it.
        self.default_latency_ms = default_latency_ms
        self.in_flight: Counter = Counter()
        # Ids never restart, not even on reset: an id handed out before a reset must stay
        # unknown after it, as a real API's would.
        self.ids = 0
        self.reset(seed)

    def reset(self, seed: Optional[int] = None) -> None:
        if seed is not None:
            self.seed = seed
        self.calls: Counter = Counter()
        self.statuses: Counter = Counter()
        # Requests still being served keep counting; the peak restarts from them.
        self.max_in_flight: Counter = Counter(self.in_flight)
        self.recorded: deque = deque(maxlen=RECORD_LIMIT)
        self.faults: list[FaultRule] = []
        self.fault_ids = 0
        self.latency_ms = self.default_latency_ms
        self.rate_limits: dict[Optional[str], float] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.plans: dict[str, Plan] = {}
        self.batches: dict[tuple[str, str], Batch] = {}
        self.files: dict[tuple[str, str], StoredFile] = {}
        self.uploads: dict[str, dict] = {}
        self.sequence = 0

    # ---- ids -------------------------------------------------------------
    def next_seq(self) -> int:
        self.sequence += 1
        return self.sequence

    def new_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}emu{self.ids:05d}"

    # ---- observability ---------------------------------------------------
    def begin(self, provider: str) -> None:
        for key in ("all", provider):
            self.in_flight[key] += 1
            self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])

    def end(self, provider: str) -> None:
        for key in ("all", provider):
            self.in_flight[key] -= 1

    def record(self, entry: dict) -> None:
        self.calls[(entry["provider"], entry["endpoint"])] += 1
        self.recorded.append(entry)

    def stats(self) -> dict:
        return {
            "calls": {f"{p}.{e}": n for (p, e), n in sorted(self.calls.items())},
            "statuses": {f"{p}.{e}.{s}": n for (p, e, s), n in sorted(self.statuses.items())},
            "in_flight": dict(self.in_flight),
            "max_in_flight": dict(self.max_in_flight),
            "faults": [r.to_dict() for r in self.faults],
            "latency_ms": self.latency_ms,
            "rate_limits": {str(k): v for k, v in self.rate_limits.items()},
            "batches": len(self.batches),
            "files": len(self.files),
        }

    # ---- faults and rate limits -----------------------------------------
    def add_fault(self, data: dict) -> FaultRule:
        self.fault_ids += 1
        rule = FaultRule.from_dict(data, self.fault_ids, self.seed)
        self.faults.append(rule)
        return rule

    def decide(self, provider: str, endpoint: str) -> FaultDecision:
        return decide(self.faults, provider, endpoint)

    def set_rate_limit(self, rps: Optional[float], provider: Optional[str]) -> None:
        if provider is not None and provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        if rps:
            self.rate_limits[provider] = float(rps)
        else:
            self.rate_limits.pop(provider, None)
        self.buckets.clear()

    def rate_limit_wait(self, provider: str) -> tuple[float, float]:
        """(seconds to wait, limit) for one more call to `provider`; 0 when allowed."""
        rps = self.rate_limits.get(provider, self.rate_limits.get(None))
        if not rps:
            return 0.0, 0.0
        bucket = self.buckets.get(provider)
        if bucket is None:
            bucket = self.buckets[provider] = TokenBucket(rps)
        return bucket.take(), rps

    # ---- batches ---------------------------------------------------------
    def set_plan(self, provider: str, states: list[str], partial=None,
                 count: Optional[int] = None,
                 cancelling: Optional[int] = DEFAULT_CANCELLING) -> None:
        if provider not in PROVIDERS or provider == "openrouter":
            raise ValueError(f"no batches for provider {provider!r}")
        canon = [canonical(s, provider) for s in states]
        if not canon:
            raise ValueError("a plan needs at least one state")
        if cancelling is not None and (isinstance(cancelling, bool)
                                       or not isinstance(cancelling, int) or cancelling < 0):
            raise ValueError("cancelling is a number of retrieves (0 or more), or null")
        self.plans[provider] = Plan(canon, partial, count, cancelling)

    def take_plan(self, provider: str) -> Plan:
        plan = self.plans.get(provider)
        if plan is None:
            return Plan(list(DEFAULT_PLAN))
        if plan.remaining is not None:
            plan.remaining -= 1
            if plan.remaining <= 0:
                del self.plans[provider]
        return plan

    def new_batch(self, provider: str, batch_id: str, items: list[Item],
                  errors: Optional[list] = None, **extra: Any) -> Batch:
        plan = self.take_plan(provider)
        states = list(plan.states)
        if errors:
            # A batch that fails validation is reported pending once, then failed.
            states = [states[0] if states[0] not in TERMINAL else "pending", "failed"]
        batch = Batch(provider=provider, id=batch_id, seq=self.next_seq(), items=items,
                      seed=self.seed, plan=states, partial=plan.partial,
                      cancelling=plan.cancelling,
                      errors=list(errors or []), extra=dict(extra))
        self.batches[(provider, batch_id)] = batch
        return batch

    def set_batch_state(self, provider: str, batch_id: str, state: str, partial=None) -> Batch:
        batch = self.batches.get((provider, batch_id))
        if batch is None:
            raise KeyError(batch_id)
        batch.force(canonical(state, provider), partial)
        return batch

    def list_batches(self, provider: str) -> list[Batch]:
        """Newest first, as every provider lists them."""
        found = [b for (p, _), b in self.batches.items() if p == provider]
        return sorted(found, key=lambda b: b.seq, reverse=True)


@dataclass
class Call:
    """What the shared handling learnt about one provider call, for its handler."""

    json: Any = None
    raw: bytes = b""
    record: dict = field(default_factory=dict)
    null_content: bool = False
    no_metadata: bool = False
    finish_reason: Optional[str] = None


STATE_KEY = web.AppKey("emulator_state", EmulatorState)
CALL_KEY = web.RequestKey("emulator_call", Call)


def state_of(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def call_of(request: web.Request) -> Call:
    return request[CALL_KEY]
