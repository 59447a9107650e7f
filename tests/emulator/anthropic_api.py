"""Anthropic: messages, token counting and Message Batches (mounted at /anthropic/v1).

Batch creation refuses bad or duplicate custom_ids outright; invalid params inside a
request only make that request's result "errored", as the real API does.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from aiohttp import web

from .errors import anthropic_error, request_id
from .lifecycle import CANCELLED, ERRORED, EXPIRED, SUCCEEDED, Batch, Item
from .replies import count_words, input_tokens, reply_text, text_of_content
from .state import call_of, state_of

PREFIX = "/anthropic/v1"
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def split_request(params: dict) -> tuple[str, list[str]]:
    """(prompt, texts): the last user turn's text, and all message + system text."""
    prompt, texts = "", []
    system = params.get("system")
    if system:
        texts.append(text_of_content(system))
    for message in params.get("messages") or []:
        if isinstance(message, dict):
            text = text_of_content(message.get("content"))
            texts.append(text)
            if message.get("role") == "user":
                prompt = text
    return prompt, texts


def validate(params: Any, need_max_tokens: bool = True) -> Optional[str]:
    if not isinstance(params, dict):
        return "params: Input should be a valid dictionary"
    if not params.get("model"):
        return "model: Field required"
    if need_max_tokens and "max_tokens" not in params:
        return "max_tokens: Field required"
    if need_max_tokens and (not isinstance(params["max_tokens"], int) or params["max_tokens"] < 1):
        return "max_tokens: Input should be greater than or equal to 1"
    messages = params.get("messages")
    if not isinstance(messages, list):
        return "messages: Field required"
    if not messages:
        return "messages: at least one message is required"
    return None


def message(model: str, prompt: str, n_in: int, stop_reason: str | None = None) -> dict:
    answer = reply_text(model, prompt)
    return {
        "id": "msg_emu" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
        "model": model, "content": [{"type": "text", "text": answer}],
        "stop_reason": stop_reason or "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": n_in, "output_tokens": count_words(answer),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "service_tier": "standard"},
    }


async def messages(request: web.Request) -> web.Response:
    body = call_of(request).json
    problem = validate(body)
    if problem:
        return anthropic_error(400, problem)
    prompt, texts = split_request(body)
    return web.json_response(message(body["model"], prompt, input_tokens(texts),
                                     call_of(request).finish_reason))


async def count_tokens(request: web.Request) -> web.Response:
    body = call_of(request).json
    problem = validate(body, need_max_tokens=False)
    if problem:
        return anthropic_error(400, problem)
    return web.json_response({"input_tokens": input_tokens(split_request(body)[1])})


def render(request: web.Request, batch: Batch) -> dict:
    counts = batch.counts()
    ended = batch.done
    return {
        "id": batch.id, "type": "message_batch", "processing_status": batch.state,
        "request_counts": {
            "processing": 0 if ended else len(batch.items),
            "succeeded": counts[SUCCEEDED], "errored": counts[ERRORED],
            "canceled": counts[CANCELLED], "expired": counts[EXPIRED],
        },
        "ended_at": _iso(batch.entered.get(batch.current)) if ended else None,
        "created_at": _iso(batch.created_at),
        "expires_at": _iso(batch.created_at + 86400),
        "archived_at": None,
        "cancel_initiated_at": _iso(batch.entered.get("cancel_requested")),
        # Absolute, like the real API: the SDK fetches it as given.
        "results_url": (f"{request.scheme}://{request.host}{PREFIX}/messages/batches/"
                        f"{batch.id}/results") if ended else None,
    }


async def batches_create(request: web.Request) -> web.Response:
    state = state_of(request)
    body = call_of(request).json or {}
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return anthropic_error(400, "requests: List should have at least 1 item")
    if len(requests) > 100_000:
        return anthropic_error(400, "requests: at most 100000 requests per batch")
    items, seen = [], set()
    for n, entry in enumerate(requests):
        cid = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or not CUSTOM_ID.match(cid):
            return anthropic_error(400, f"requests.{n}.custom_id: String should match pattern "
                                        "'^[a-zA-Z0-9_-]{1,64}$'")
        if cid in seen:
            return anthropic_error(400, f"requests.{n}.custom_id: duplicate custom_id '{cid}'; "
                                        "custom_id values must be unique within a batch")
        seen.add(cid)
        params = entry.get("params")
        problem = validate(params)
        prompt, texts = split_request(params) if isinstance(params, dict) else ("", [])
        model = params.get("model", "") if isinstance(params, dict) else ""
        items.append(Item(cid, model, prompt, texts, invalid=problem))
    batch = state.new_batch("anthropic", state.new_id("msgbatch_"), items)
    return web.json_response(render(request, batch))


def _find(request: web.Request) -> Optional[Batch]:
    return state_of(request).batches.get(("anthropic", request.match_info["batch_id"]))


def _missing(request: web.Request) -> web.Response:
    return anthropic_error(404, f"Message batch {request.match_info['batch_id']} not found.")


async def batches_get(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    batch.observe()
    return web.json_response(render(request, batch))


async def batches_cancel(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    batch.cancel()
    return web.json_response(render(request, batch))


async def batches_delete(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    if not batch.done:
        return anthropic_error(400, "Batch must be ended or canceled before it can be deleted.")
    del state_of(request).batches[("anthropic", batch.id)]
    return web.json_response({"id": batch.id, "type": "message_batch_deleted"})


def _result(item: Item, outcome: str) -> dict:
    if outcome == SUCCEEDED:
        return {"type": "succeeded", "message": message(item.model, item.prompt, item.input_tokens)}
    if outcome == ERRORED:
        return {"type": "errored", "error": {
            "type": "error", "request_id": request_id(),
            "error": {"type": "invalid_request_error", "message": item.error_message}}}
    return {"type": "canceled" if outcome == CANCELLED else "expired"}


async def batches_results(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    if not batch.done:
        return anthropic_error(400, f"Message batch {batch.id} has not ended yet; results are "
                                    "available once processing_status is 'ended'.")
    lines = [json.dumps({"custom_id": item.custom_id, "result": _result(item, outcome)})
             for item, outcome in batch.results()]
    return web.Response(body=("\n".join(lines) + "\n").encode(),
                        content_type="application/binary")


async def batches_list(request: web.Request) -> web.Response:
    batches = state_of(request).list_batches("anthropic")
    after, before = request.query.get("after_id"), request.query.get("before_id")
    ids = [b.id for b in batches]
    if after in ids:
        batches = batches[ids.index(after) + 1:]
    elif before in ids:
        batches = batches[:ids.index(before)]
    try:
        limit = max(1, min(1000, int(request.query.get("limit", 20))))
    except ValueError:
        return anthropic_error(400, "limit: Input should be a valid integer")
    page = batches[-limit:] if before in ids else batches[:limit]
    return web.json_response({
        "data": [render(request, b) for b in page], "has_more": len(batches) > limit,
        "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None,
    })


ROUTES = [
    ("POST", PREFIX + "/messages", "messages", messages),
    ("POST", PREFIX + "/messages/count_tokens", "count_tokens", count_tokens),
    ("POST", PREFIX + "/messages/batches", "batches_create", batches_create),
    ("GET", PREFIX + "/messages/batches", "batches_list", batches_list),
    ("GET", PREFIX + "/messages/batches/{batch_id}", "batches_get", batches_get),
    ("DELETE", PREFIX + "/messages/batches/{batch_id}", "batches_delete", batches_delete),
    ("POST", PREFIX + "/messages/batches/{batch_id}/cancel", "batches_cancel", batches_cancel),
    ("GET", PREFIX + "/messages/batches/{batch_id}/results", "batches_results", batches_results),
]
