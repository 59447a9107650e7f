"""Fault rules and rate limiting: decide, per incoming call, whether to misbehave.

A rule is installed through the control API and matched against every provider
call by (provider, endpoint). Randomness is seeded so a test run is repeatable.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

PROVIDERS = ("openai", "anthropic", "gemini", "openrouter")

# Every field a rule may carry; anything else is refused so a typo in a test
# does not silently install a rule that never fires.
RULE_FIELDS = {
    "provider", "endpoint", "status", "times", "every", "rate", "retry_after",
    "quota", "latency_ms", "openrouter_200_error", "null_content", "finish_reason", "drop",
    "message", "no_metadata",
}


@dataclass
class FaultRule:
    provider: Optional[str] = None
    endpoint: Any = None  # a name, a list of names, or None for any endpoint
    status: Optional[int] = None
    times: Optional[int] = None
    every: Optional[int] = None
    rate: Optional[float] = None
    retry_after: Optional[float] = None
    quota: bool = False
    latency_ms: Optional[float] = None
    openrouter_200_error: bool = False
    null_content: bool = False
    #: Answers normally but reports this finish reason (e.g. "length", "max_tokens",
    #: "MAX_TOKENS"), in the provider's own vocabulary.
    finish_reason: Optional[str] = None
    drop: bool = False
    message: Optional[str] = None
    #: Gemini inline batch responses come back without the metadata their requests carried,
    #: as the real API has been reported to do (googleapis/python-genai#2008).
    no_metadata: bool = False
    id: int = 0
    matched: int = 0
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_dict(cls, data: dict, rule_id: int, seed: int) -> "FaultRule":
        unknown = set(data) - RULE_FIELDS
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        rule = cls(**data, id=rule_id)
        if rule.provider is not None and rule.provider not in PROVIDERS:
            raise ValueError(f"unknown provider {rule.provider!r}")
        if rule.quota and rule.status is None:
            # A quota fault is a 429 everywhere except OpenRouter, where running
            # out of credits is a 402.
            rule.status = 402 if rule.provider == "openrouter" else 429
        if not (rule.status or rule.drop or rule.openrouter_200_error or rule.null_content
                or rule.latency_ms or rule.finish_reason or rule.no_metadata):
            raise ValueError("a fault rule needs status, drop, latency_ms, "
                             "openrouter_200_error, null_content, finish_reason or no_metadata")
        if rule.every is not None and rule.every < 1:
            raise ValueError("every must be >= 1")
        rule._rng = random.Random(f"{seed}:fault:{rule_id}")
        return rule

    def matches(self, provider: str, endpoint: str) -> bool:
        if self.provider is not None and self.provider != provider:
            return False
        if self.endpoint is None:
            return True
        if isinstance(self.endpoint, (list, tuple)):
            return endpoint in self.endpoint
        return endpoint == self.endpoint

    def fires(self) -> bool:
        """Count one matching call and say whether this rule applies to it."""
        self.matched += 1
        if self.times is not None:
            hit = self.matched <= self.times
        elif self.every is not None:
            hit = self.matched % self.every == 0
        elif self.rate is not None:
            hit = self._rng.random() < self.rate
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit

    @property
    def terminal(self) -> bool:
        """True when the rule replaces the normal answer (not just delays it)."""
        return bool(self.status or self.drop or self.openrouter_200_error)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in sorted(RULE_FIELDS)}
        out.update(id=self.id, matched=self.matched, fired=self.fired)
        return out


@dataclass
class FaultDecision:
    latency_ms: float = 0.0
    rule: Optional[FaultRule] = None  # the rule that replaces the answer, if any
    null_content: bool = False
    no_metadata: bool = False
    finish_reason: Optional[str] = None
    #: Answers normally but reports this finish reason (e.g. "length", "max_tokens",
    #: "MAX_TOKENS"), in the provider's own vocabulary.
    finish_reason: Optional[str] = None


def decide(rules: list[FaultRule], provider: str, endpoint: str) -> FaultDecision:
    """Apply every matching rule: latencies add up, the first terminal rule that fires wins.

    Once a terminal rule answers a call, later terminal rules do not see that call, so rules
    chain: a `times=1` 429 followed by a `times=1` 500 gives a 429, then a 500.
    """
    decision = FaultDecision()
    for rule in rules:
        if not rule.matches(provider, endpoint):
            continue
        if rule.terminal and decision.rule is not None:
            continue
        if not rule.fires():
            continue
        decision.latency_ms += rule.latency_ms or 0
        decision.null_content = decision.null_content or rule.null_content
        decision.no_metadata = decision.no_metadata or rule.no_metadata
        decision.finish_reason = decision.finish_reason or rule.finish_reason
        if rule.terminal and decision.rule is None:
            decision.rule = rule
    return decision


class TokenBucket:
    """Requests-per-second limiter; `take` returns 0 or the seconds to wait."""

    def __init__(self, rps: float, burst: Optional[float] = None) -> None:
        self.rps = float(rps)
        self.capacity = float(burst if burst is not None else max(1.0, rps))
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rps)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rps

    @staticmethod
    def header_seconds(wait: float) -> int:
        # Retry-After is whole seconds; rounding down would invite an early retry.
        return max(1, math.ceil(wait))
