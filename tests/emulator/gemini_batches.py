"""Gemini Batch API: batchGenerateContent (inline or file input), get, cancel, delete, list.

The REST answer is an Operation: {"name", "metadata": {... "state", "output"}, "done",
"response"}. The SDK builds its BatchJob from `metadata` only (state BATCH_STATE_*
becomes JOB_STATE_*; `metadata.output` becomes `dest`), so both carry the results.

Inline responses come in request order, each with the metadata its request carried, as the
API reference documents (https://ai.google.dev/api/batch-api: GenerateContentBatchOutput
`inlinedResponses`, "in the same order as the input requests"; InlinedResponse `metadata`,
"the metadata associated with the request"). The fault rule `no_metadata` leaves the
metadata out, as the real API has been reported to (googleapis/python-genai#2008). Lines of
a responses file stay shuffled: each carries its request's `key`.
"""

from __future__ import annotations

import json
from typing import Optional

from aiohttp import web

from .errors import gemini_error
from .gemini_api import (ROOT, VER, generate_response, invalid_payload, iso, model_name,
                         no_file, split_request, store_generated, unknown_names, validate)
from .lifecycle import ERRORED, SUCCEEDED, Batch, Item
from .state import call_of, state_of

_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."


def _item(key: str, model: str, request: object, metadata=None) -> Item:
    if not isinstance(request, dict):
        return Item(key, model, "", [], metadata, invalid="Invalid JSON payload received.")
    prompt, texts = split_request(request)
    return Item(key, model, prompt, texts, metadata, invalid=validate(request))


def _file_items(data: bytes, model: str) -> list[Item]:
    items = []
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            items.append(Item(f"line-{n}", model, "", [], invalid="Invalid JSON payload received."))
            continue
        row = row if isinstance(row, dict) else {}
        items.append(_item(str(row.get("key", f"line-{n}")), model, row.get("request")))
    return items


async def create(request: web.Request, model_path: str) -> web.Response:
    state = state_of(request)
    model = model_name(model_path)
    batch_spec = (call_of(request).json or {}).get("batch")
    if not isinstance(batch_spec, dict) or not isinstance(batch_spec.get("inputConfig"), dict):
        return gemini_error(400, "* BatchGenerateContentRequest.batch.input_config: "
                                 "input_config is not specified")
    source = batch_spec["inputConfig"]
    if source.get("fileName"):
        f = state.files.get(("gemini", source["fileName"].split("/")[-1]))
        if f is None:
            return no_file(source["fileName"])
        items = _file_items(f.data, model)
        mode = "file"
    else:
        entries = (source.get("requests") or {}).get("requests") or []
        if not entries:
            return gemini_error(400, "* BatchGenerateContentRequest.batch.input_config.requests: "
                                     "requests is empty")
        # Inline requests are part of this body: a field the API does not know refuses the
        # whole call, where a file's bad line only fails that request.
        unknown = [problem for n, e in enumerate(entries)
                   if isinstance(e, dict) and isinstance(e.get("request"), dict)
                   for problem in unknown_names(
                       e["request"], f"batch.input_config.requests.requests[{n}].request")]
        if unknown:
            return invalid_payload(unknown)
        items = [_item(str(n), model, e.get("request") if isinstance(e, dict) else None,
                       e.get("metadata") if isinstance(e, dict) else None)
                 for n, e in enumerate(entries)]
        mode = "inline"
    batch = state.new_batch("gemini", state.new_id(""), items, mode=mode, model=model,
                            display_name=batch_spec.get("displayName"), input_config=source)
    return web.json_response(render(request, batch))


def _inline(item: Item, outcome: str, metadata: bool = True) -> dict:
    entry: dict = {}
    if outcome == SUCCEEDED:
        entry["response"] = generate_response(item.model, item.prompt, item.input_tokens)
    else:
        entry["error"] = {"code": 400, "message": item.error_message, "status": "INVALID_ARGUMENT"}
    if item.metadata is not None and metadata:
        entry["metadata"] = item.metadata
    return entry


def _output(request: web.Request, batch: Batch) -> Optional[dict]:
    # Expired and cancelled requests leave no trace in the output, as on the real API.
    answered = [(i, o) for i, o in batch.results() if o in (SUCCEEDED, ERRORED)]
    if not answered:
        return None
    if batch.extra["mode"] == "inline":
        metadata = not call_of(request).no_metadata
        return {"inlinedResponses": {"inlinedResponses": [
            _inline(item, outcome, metadata)
            for item, outcome in zip(batch.items, batch.outcomes or [])
            if outcome in (SUCCEEDED, ERRORED)]}}
    if not batch.extra.get("materialized"):
        lines = []
        for item, outcome in answered:
            entry = _inline(item, outcome)
            lines.append(json.dumps({"key": item.custom_id, **entry}))
        store_generated(state_of(request), f"batch-{batch.id}",
                        ("\n".join(lines) + "\n").encode())
        batch.extra["materialized"] = True
    return {"responsesFile": f"files/batch-{batch.id}"}


def render(request: web.Request, batch: Batch) -> dict:
    name = f"batches/{batch.id}"
    counts = batch.counts()
    total = len(batch.items)
    finished = counts[SUCCEEDED] + counts[ERRORED]
    meta = {
        "@type": _TYPE + "GenerateContentBatch", "name": name,
        "model": f"models/{batch.extra['model']}", "inputConfig": batch.extra["input_config"],
        "createTime": iso(batch.created_at),
        "updateTime": iso(max(batch.entered.values())),
        "batchStats": {"requestCount": str(total),
                       "successfulRequestCount": str(counts[SUCCEEDED]),
                       "failedRequestCount": str(counts[ERRORED]),
                       "pendingRequestCount": str(0 if batch.done else total - finished)},
        "state": batch.state,
    }
    if batch.extra.get("display_name"):
        meta["displayName"] = batch.extra["display_name"]
    op: dict = {"name": name, "metadata": meta, "done": batch.done}
    if batch.done:
        meta["endTime"] = iso(batch.entered[batch.current])
        output = _output(request, batch)
        if output is not None:
            meta["output"] = output
            op["response"] = {"@type": _TYPE + "GenerateContentBatchOutput", **output}
        if batch.current == "failed":
            op["error"] = {"code": 13, "message": "The batch failed."}
    return op


def _find(request: web.Request) -> Optional[Batch]:
    batch_id = request.match_info["target"].partition(":")[0]
    return state_of(request).batches.get(("gemini", batch_id))


def _missing() -> web.Response:
    return gemini_error(404, "Requested entity was not found.")


def batch_endpoint(request: web.Request) -> str:
    if request.method == "DELETE":
        return "batches_delete"
    return "batches_cancel" if request.match_info["target"].endswith(":cancel") else "batches_get"


async def batch_action(request: web.Request) -> web.Response:
    batch = _find(request)
    if batch is None:
        return _missing()
    if request.method == "DELETE":
        del state_of(request).batches[("gemini", batch.id)]
        return web.json_response({})
    if request.method == "POST":
        if not request.match_info["target"].endswith(":cancel"):
            return gemini_error(404, "Unknown method.")
        batch.cancel()
        return web.json_response({})
    batch.observe()
    return web.json_response(render(request, batch))


async def batches_list(request: web.Request) -> web.Response:
    batches = state_of(request).list_batches("gemini")
    try:
        size = max(1, min(1000, int(request.query.get("pageSize", 50))))
        start = int(request.query.get("pageToken") or 0)
    except ValueError:
        return gemini_error(400, "Invalid page size or token.")
    page = batches[start:start + size]
    body: dict = {"operations": [render(request, b) for b in page]}
    if start + size < len(batches):
        body["nextPageToken"] = str(start + size)
    return web.json_response(body)


ROUTES = [
    ("GET", f"{ROOT}/{VER}/batches", "batches_list", batches_list),
    ("GET", f"{ROOT}/{VER}/batches/{{target}}", batch_endpoint, batch_action),
    ("POST", f"{ROOT}/{VER}/batches/{{target}}", batch_endpoint, batch_action),
    ("DELETE", f"{ROOT}/{VER}/batches/{{target}}", batch_endpoint, batch_action),
]
