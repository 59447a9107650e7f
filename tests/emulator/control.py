"""The test-facing control API under /_emulator: reset, faults, latency, rate limits,
batch plans and states, stats and recorded requests. Control calls are not counted."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from .lifecycle import DEFAULT_CANCELLING
from .state import EmulatorState, state_of

BASE = "/_emulator"


def _state(request: web.Request) -> EmulatorState:
    return state_of(request)


async def _body(request: web.Request) -> dict:
    raw = await request.read()
    return json.loads(raw) if raw else {}


def _guard(fn: Callable[[web.Request], Awaitable[Any]]):
    """Bad input from a test is a 400 with the reason, not a server traceback."""
    async def handler(request: web.Request) -> web.Response:
        try:
            result = await fn(request)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except KeyError as exc:
            return web.json_response({"error": f"not found: {exc.args[0]}"}, status=404)
        return web.json_response(result)
    return handler


async def health(request: web.Request) -> dict:
    return {"ok": True}


async def reset(request: web.Request) -> dict:
    body = await _body(request)
    _state(request).reset(body.get("seed"))
    return {"ok": True, "seed": _state(request).seed}


async def stats(request: web.Request) -> dict:
    return _state(request).stats()


async def requests(request: web.Request) -> list:
    provider, endpoint = request.query.get("provider"), request.query.get("endpoint")
    return [r for r in _state(request).recorded
            if (provider is None or r["provider"] == provider)
            and (endpoint is None or r["endpoint"] == endpoint)]


async def add_fault(request: web.Request) -> dict:
    return _state(request).add_fault(await _body(request)).to_dict()


async def list_faults(request: web.Request) -> list:
    return [r.to_dict() for r in _state(request).faults]


async def clear_faults(request: web.Request) -> dict:
    _state(request).faults.clear()
    return {"ok": True}


async def latency(request: web.Request) -> dict:
    ms = float((await _body(request)).get("ms") or 0)
    if ms < 0:
        raise ValueError("latency must be >= 0")
    _state(request).latency_ms = ms
    return {"latency_ms": ms}


async def rate_limit(request: web.Request) -> dict:
    body = await _body(request)
    _state(request).set_rate_limit(body.get("rps"), body.get("provider"))
    return {"rate_limits": {str(k): v for k, v in _state(request).rate_limits.items()}}


def _check_partial(partial: Any) -> Any:
    if partial is None:
        return None
    if isinstance(partial, bool) or not isinstance(partial, (int, float)) or partial < 0:
        raise ValueError("partial is a count (int) or a fraction (float between 0 and 1)")
    if isinstance(partial, float) and partial > 1:
        raise ValueError("a fractional partial must be between 0 and 1")
    return partial


async def plan(request: web.Request) -> dict:
    body = await _body(request)
    states = body.get("states")
    if not isinstance(states, list):
        raise ValueError("states must be a list")
    _state(request).set_plan(body.get("provider"), states, _check_partial(body.get("partial")),
                             body.get("count"), body.get("cancelling", DEFAULT_CANCELLING))
    return {"ok": True}


def _batch_id(provider: str, batch_id: str) -> str:
    # Gemini batches are named "batches/<id>"; the store keys them by <id>.
    return batch_id.split("/", 1)[1] if provider == "gemini" and "/" in batch_id else batch_id


async def batch_state(request: web.Request) -> dict:
    body = await _body(request)
    provider = body.get("provider")
    batch = _state(request).set_batch_state(provider, _batch_id(provider, body.get("batch_id", "")),
                                            body.get("state", ""),
                                            _check_partial(body.get("partial")))
    return {"provider": provider, "id": batch.id, "state": batch.state}


async def batches(request: web.Request) -> list:
    provider = request.query.get("provider")
    return [{"provider": b.provider, "id": b.id, "state": b.state, "requests": len(b.items),
             "pending_states": list(b.queue)}
            for b in sorted(_state(request).batches.values(), key=lambda b: b.seq)
            if provider is None or b.provider == provider]


def add_routes(app: web.Application) -> None:
    for method, path, fn in (
        ("GET", "/health", health), ("POST", "/reset", reset), ("GET", "/stats", stats),
        ("GET", "/requests", requests), ("POST", "/faults", add_fault),
        ("GET", "/faults", list_faults), ("DELETE", "/faults", clear_faults),
        ("POST", "/latency", latency), ("POST", "/rate_limit", rate_limit),
        ("POST", "/plan", plan), ("POST", "/batch_state", batch_state),
        ("GET", "/batches", batches),
    ):
        app.router.add_route(method, BASE + path, _guard(fn))
