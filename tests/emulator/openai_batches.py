"""OpenAI Batch API: create from an uploaded JSONL file, retrieve, cancel, list.

Results appear as files once the batch reaches a terminal state: an output file
(successful lines) and an error file (failed, expired and cancelled lines); either
id is None when it would be empty.
"""

from __future__ import annotations

import json
import uuid

from aiohttp import web

from .errors import openai_error
from .lifecycle import CANCELLED, ERRORED, EXPIRED, SUCCEEDED, Batch, Item
from .openai_api import PREFIX, completion, split_messages, store_file, validate_chat
from .state import call_of, state_of

ENDPOINT = "/v1/chat/completions"
_TIMESTAMPS = {"running": "in_progress_at", "finalizing": "finalizing_at",
               "completed": "completed_at", "failed": "failed_at", "expired": "expired_at",
               "cancelling": "cancelling_at", "cancelled": "cancelled_at"}
_LEFT_OVER = {
    EXPIRED: ("batch_expired", "This request could not be executed before the completion "
                               "window expired."),
    CANCELLED: ("batch_cancelled", "This request was not executed because the batch was "
                                   "cancelled."),
}


def _err(code: str, message: str, line=None, param=None) -> dict:
    return {"code": code, "message": message, "param": param, "line": line}


def parse_input(data: bytes) -> tuple[list[Item], list[dict]]:
    """Requests of a batch input file, and the validation errors that fail the batch."""
    items: list[Item] = []
    errors: list[dict] = []
    seen: set = set()
    models: list[str] = []
    lines = data.decode("utf-8", errors="replace").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            errors.append(_err("invalid_json_line", "This line is not parseable as valid JSON.", n))
            continue
        if not isinstance(row, dict):
            errors.append(_err("invalid_json_line", "Each line must be a JSON object.", n))
            continue
        cid = row.get("custom_id")
        if not isinstance(cid, str) or not cid:
            errors.append(_err("missing_required_parameter", "Missing custom_id.", n, "custom_id"))
            continue
        if cid in seen:
            errors.append(_err("duplicate_custom_id", "The custom_id for this request is a "
                               "duplicate of another request. The custom_id parameter must be "
                               "unique for each request in a batch.", n, "custom_id"))
            continue
        seen.add(cid)
        if row.get("method") != "POST":
            errors.append(_err("invalid_method", "Only POST requests are supported.", n, "method"))
            continue
        if row.get("url") != ENDPOINT:
            errors.append(_err("invalid_url", f"The URL of this request does not match the "
                               f"batch endpoint {ENDPOINT}.", n, "url"))
            continue
        body = row.get("body")
        if not isinstance(body, dict) or not body.get("model"):
            errors.append(_err("missing_required_parameter", "Missing model in request body.",
                               n, "body.model"))
            continue
        if body["model"] not in models:
            models.append(body["model"])
        # A body the chat endpoint would refuse fails alone, in the error file.
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        prompt, texts = split_messages(messages)
        items.append(Item(cid, body["model"], prompt, texts, invalid=validate_chat(body)))
    if len(models) > 1:
        errors.append(_err("mismatched_model", "Batch input file contains requests for more "
                           f"than one model ({', '.join(models)}); all requests in a batch "
                           "must use the same model.", None, "body.model"))
    if not lines or (not items and not errors):
        errors.append(_err("empty_file", "The batch input file is empty."))
    return items, errors


def _line(item: Item, outcome: str) -> dict:
    rid = "req_" + uuid.uuid4().hex[:24]
    base = {"id": "batch_req_" + uuid.uuid4().hex[:24], "custom_id": item.custom_id}
    if outcome == SUCCEEDED:
        body = completion(item.model, [{"role": "user", "content": item.prompt}])
        # The counts cover every message of the request, not only the prompt.
        body["usage"]["prompt_tokens"] = item.input_tokens
        body["usage"]["total_tokens"] = item.input_tokens + item.output_tokens
        return {**base, "response": {"status_code": 200, "request_id": rid, "body": body},
                "error": None}
    if outcome == ERRORED:
        body = {"error": {"message": item.error_message, "type": "invalid_request_error",
                          "param": None, "code": None}}
        return {**base, "response": {"status_code": 400, "request_id": rid, "body": body},
                "error": None}
    code, message = _LEFT_OVER[outcome]
    return {**base, "response": None, "error": {"code": code, "message": message}}


def _materialize(state, batch: Batch) -> None:
    out, err = [], []
    for item, outcome in batch.results():
        (out if outcome == SUCCEEDED else err).append(json.dumps(_line(item, outcome)))
    for key, lines, suffix in (("output_file_id", out, "output"), ("error_file_id", err, "error")):
        batch.extra[key] = None
        if lines:
            f = store_file(state, f"{batch.id}_{suffix}.jsonl",
                           ("\n".join(lines) + "\n").encode(), "batch_output")
            batch.extra[key] = f.id
    batch.extra["materialized"] = True


def render(state, batch: Batch) -> dict:
    if batch.done and not batch.extra.get("materialized"):
        _materialize(state, batch)
    counts = batch.counts()
    total = 0 if batch.errors else len(batch.items)
    data = {
        "id": batch.id, "object": "batch", "endpoint": batch.extra["endpoint"],
        "errors": None, "input_file_id": batch.extra["input_file_id"],
        "completion_window": batch.extra["completion_window"], "status": batch.state,
        "output_file_id": batch.extra.get("output_file_id"),
        "error_file_id": batch.extra.get("error_file_id"),
        "created_at": int(batch.created_at), "expires_at": int(batch.created_at) + 86400,
        "request_counts": {"total": total, "completed": counts[SUCCEEDED],
                           "failed": counts[ERRORED] + counts[EXPIRED] + counts[CANCELLED]},
        "metadata": batch.extra.get("metadata"),
        "model": batch.items[0].model if batch.items else None,
        "usage": None,
    }
    for canon, field in _TIMESTAMPS.items():
        data[field] = int(batch.entered[canon]) if canon in batch.entered else None
    if batch.current == "completed":
        for field in ("in_progress_at", "finalizing_at"):
            data[field] = data[field] or data["completed_at"]
    if batch.current == "failed":
        errs = batch.errors or [_err("batch_failed", "The batch failed.")]
        data["errors"] = {"object": "list", "data": errs}
    if batch.done:
        n_in, n_out = batch.usage()
        data["usage"] = {"input_tokens": n_in, "output_tokens": n_out,
                         "total_tokens": n_in + n_out,
                         "input_tokens_details": {"cached_tokens": 0},
                         "output_tokens_details": {"reasoning_tokens": 0}}
    return data


async def create(request: web.Request) -> web.Response:
    state = state_of(request)
    body = call_of(request).json or {}
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not body.get(name):
            return openai_error(400, f"Missing required parameter: '{name}'.", param=name)
    f = state.files.get(("openai", body["input_file_id"]))
    if f is None:
        return openai_error(404, f"No such File object: {body['input_file_id']}",
                            param="input_file_id")
    if body["endpoint"] != ENDPOINT:
        return openai_error(400, f"The emulator only supports the endpoint {ENDPOINT}.",
                            param="endpoint")
    if body["completion_window"] != "24h":
        return openai_error(400, "Invalid value for 'completion_window': only '24h' is "
                            "supported.", param="completion_window")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16 or
                                 not all(isinstance(v, str) for v in metadata.values())):
        return openai_error(400, "Invalid 'metadata': at most 16 string values.",
                            param="metadata")
    if f.purpose != "batch":
        return openai_error(400, "The input file must have purpose 'batch'.",
                            param="input_file_id")
    items, errors = parse_input(f.data)
    batch = state.new_batch("openai", state.new_id("batch_"), items, errors,
                            input_file_id=f.id, endpoint=ENDPOINT,
                            completion_window="24h", metadata=metadata)
    return web.json_response(render(state, batch))


def _find(request: web.Request):
    return state_of(request).batches.get(("openai", request.match_info["batch_id"]))


def _missing(request: web.Request) -> web.Response:
    return openai_error(404, f"No batch found with id '{request.match_info['batch_id']}'.")


async def retrieve(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    batch.observe()
    return web.json_response(render(state_of(request), batch))


async def cancel(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing(request)
    batch.cancel()
    return web.json_response(render(state_of(request), batch))


async def list_batches(request: web.Request) -> web.Response:
    state = state_of(request)
    batches = state.list_batches("openai")
    after = request.query.get("after")
    if after:
        seqs = [b.seq for b in batches if b.id == after]
        batches = [b for b in batches if seqs and b.seq < seqs[0]]
    try:
        limit = max(1, min(100, int(request.query.get("limit", 20))))
    except ValueError:
        return openai_error(400, "Invalid 'limit'.", param="limit")
    page = batches[:limit]
    data = [render(state, b) for b in page]
    return web.json_response({"object": "list", "data": data,
                              "first_id": page[0].id if page else None,
                              "last_id": page[-1].id if page else None,
                              "has_more": len(batches) > limit})


ROUTES = [
    ("POST", PREFIX + "/batches", "batches_create", create),
    ("GET", PREFIX + "/batches", "batches_list", list_batches),
    ("GET", PREFIX + "/batches/{batch_id}", "batches_get", retrieve),
    ("POST", PREFIX + "/batches/{batch_id}/cancel", "batches_cancel", cancel),
]
