"""Python client of the control API, for tests and benchmarks (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional, Union

Partial = Union[int, float, None]


class EmulatorError(RuntimeError):
    """The control API refused a request (bad rule, unknown batch...)."""


class EmulatorClient:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    # ---- plumbing ----------------------------------------------------------
    def _call(self, method: str, path: str, body: Optional[dict] = None,
              query: Optional[dict] = None) -> Any:
        url = f"{self.url}/_emulator/{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} {path}: {exc.code} {exc.read().decode()}") from None

    # ---- where the SDKs should point ---------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": f"{self.url}/openai/v1",
            "ANTHROPIC_BASE_URL": f"{self.url}/anthropic",
            "GOOGLE_GEMINI_BASE_URL": f"{self.url}/gemini",
            "OPENROUTER_BASE_URL": f"{self.url}/openrouter/api/v1",
        }

    # ---- state -------------------------------------------------------------
    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def reset(self, seed: Optional[int] = None) -> None:
        """Clear stats, faults, latency, rate limits, plans, batches and files."""
        self._call("POST", "reset", {"seed": seed})

    def add_fault(self, **rule: Any) -> dict:
        """Install a fault rule; see faults.RULE_FIELDS. Returns it with its id."""
        return self._call("POST", "faults", rule)

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_latency(self, ms: float) -> None:
        self._call("POST", "latency", {"ms": ms})

    def set_rate_limit(self, rps: Optional[float], provider: Optional[str] = None) -> None:
        """Requests per second per provider (token bucket); None or 0 turns it off."""
        self._call("POST", "rate_limit", {"rps": rps, "provider": provider})

    def plan_batches(self, provider: str, states: list[str], partial: Partial = None,
                     count: Optional[int] = None, cancelling: Optional[int] = 1) -> None:
        """States reported on successive retrieves of batches created from now on
        (the next `count` ones if given). `partial`: answered requests (int) or
        fraction of them (float) for expired or cancelled batches. `cancelling`:
        retrieves after a cancel request that still report cancelling before it ends as
        cancelled; None keeps it cancelling until `set_batch_state` ends it."""
        self._call("POST", "plan", {"provider": provider, "states": states,
                                    "partial": partial, "count": count,
                                    "cancelling": cancelling})

    def set_batch_state(self, provider: str, batch_id: str, state: str,
                        partial: Partial = None) -> dict:
        return self._call("POST", "batch_state", {"provider": provider, "batch_id": batch_id,
                                                  "state": state, "partial": partial})

    def batches(self, provider: Optional[str] = None) -> list[dict]:
        return self._call("GET", "batches", query={"provider": provider})

    # ---- observations ------------------------------------------------------
    def stats(self) -> dict:
        return self._call("GET", "stats")

    def calls(self, provider: str, endpoint: Optional[str] = None) -> int:
        calls = self.stats()["calls"]
        if endpoint is not None:
            return calls.get(f"{provider}.{endpoint}", 0)
        return sum(n for k, n in calls.items() if k.split(".")[0] == provider)

    def max_in_flight(self, provider: Optional[str] = None) -> int:
        return self.stats()["max_in_flight"].get(provider or "all", 0)

    def requests(self, provider: Optional[str] = None,
                 endpoint: Optional[str] = None) -> list[dict]:
        """Recorded requests, oldest first: provider, endpoint, method, path, query,
        json (parsed body or None), api_key, headers (keys masked), form (uploads)."""
        return self._call("GET", "requests", query={"provider": provider, "endpoint": endpoint})


Emulator = EmulatorClient
