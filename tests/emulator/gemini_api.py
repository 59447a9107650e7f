"""Gemini: generateContent, countTokens and the Files API (mounted at /gemini).

Both API versions the SDK may use (v1, its default, and v1beta) are served alike.
File upload follows the SDK's resumable protocol: a `start` call answered with an
X-Goog-Upload-URL, then data chunks to that URL, the last one with `finalize`.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from aiohttp import web

from .errors import gemini_error
from .replies import count_words, input_tokens, reply_text, text_of_gemini_content
from .state import StoredFile, call_of, state_of

VER = "{ver:v1|v1beta|v1alpha}"
ROOT = "/gemini"
_ACTIONS = {"generateContent": "generate", "countTokens": "count_tokens",
            "batchGenerateContent": "batches_create"}


def iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_name(model: str) -> str:
    return model[len("models/"):] if model.startswith("models/") else model


def split_request(req: dict) -> tuple[str, list[str]]:
    """(prompt, texts): the last user turn's text, and all contents + system text."""
    prompt, texts = "", []
    system = req.get("systemInstruction") or req.get("system_instruction")
    if system:
        texts.append(text_of_gemini_content(system))
    for content in req.get("contents") or []:
        text = text_of_gemini_content(content)
        texts.append(text)
        if not isinstance(content, dict) or content.get("role", "user") == "user":
            prompt = text
    return prompt, texts


#: The fields of a GenerateContentRequest body (the API reference's list). The API parses
#: bodies as protobuf JSON, so each may be spelled in camelCase or snake_case, and any other
#: name at the root is refused.
REQUEST_FIELDS = frozenset({
    "model", "contents", "tools", "toolConfig", "tool_config", "safetySettings",
    "safety_settings", "systemInstruction", "system_instruction", "generationConfig",
    "generation_config", "cachedContent", "cached_content",
})


def unknown_names(req: dict, at: Optional[str] = None) -> list[str]:
    """The API's complaint for each root field of ``req`` it does not know, one per line
    (``at`` names where ``req`` sits in a larger body)."""
    where = f" at '{at}'" if at else ""
    return [f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
            for name in req if name not in REQUEST_FIELDS]


def invalid_payload(problems: list[str]) -> web.Response:
    """400 INVALID_ARGUMENT for unknown fields, with the BadRequest details the API adds."""
    violations = [{"description": problem} for problem in problems]
    return gemini_error(400, "\n".join(problems), details=[
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}])


def validate(req: Any) -> Optional[str]:
    if not isinstance(req, dict):
        return "Invalid JSON payload received."
    unknown = unknown_names(req)
    if unknown:
        return "\n".join(unknown)
    if not req.get("contents"):
        return "* GenerateContentRequest.contents: contents is not specified"
    return None


def generate_response(model: str, prompt: str, n_in: int,
                      finish_reason: str | None = None) -> dict:
    answer = reply_text(model, prompt)
    n_out = count_words(answer)
    return {
        "candidates": [{"content": {"parts": [{"text": answer}], "role": "model"},
                        "finishReason": finish_reason or "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": n_in, "candidatesTokenCount": n_out,
                          "totalTokenCount": n_in + n_out,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n_in}]},
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:22],
    }


def _target(request: web.Request) -> tuple[str, str]:
    model, _, action = request.match_info["target"].partition(":")
    return model, action


def model_endpoint(request: web.Request) -> str:
    return _ACTIONS.get(_target(request)[1], "unknown")


async def generate(request: web.Request, model: str) -> web.Response:
    body = call_of(request).json
    if isinstance(body, dict) and unknown_names(body):
        return invalid_payload(unknown_names(body))
    problem = validate(body)
    if problem:
        return gemini_error(400, problem)
    prompt, texts = split_request(body)
    return web.json_response(generate_response(model, prompt, input_tokens(texts),
                                               call_of(request).finish_reason))


async def count_tokens(request: web.Request, model: str) -> web.Response:
    body = call_of(request).json or {}
    req = body.get("generateContentRequest") or body
    if not req.get("contents"):
        return gemini_error(400, "* CountTokensRequest.contents: contents is not specified")
    n = input_tokens(split_request(req)[1])
    return web.json_response({"totalTokens": n,
                              "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]})


async def model_action(request: web.Request) -> web.Response:
    model, action = _target(request)
    if action == "generateContent":
        return await generate(request, model)
    if action == "countTokens":
        return await count_tokens(request, model)
    if action == "batchGenerateContent":
        from . import gemini_batches  # imported late: it builds on this module
        return await gemini_batches.create(request, model)
    return gemini_error(404, f"Method {action!r} is not found for model {model}.")


# ---- files -------------------------------------------------------------------
def file_json(request: web.Request, f: StoredFile) -> dict:
    origin = f"{request.scheme}://{request.host}{ROOT}"
    data = {
        "name": f"files/{f.id}", "mimeType": f.mime_type, "sizeBytes": str(len(f.data)),
        "createTime": iso(f.created_at), "updateTime": iso(f.created_at),
        "expirationTime": iso(f.created_at + 48 * 3600),
        "sha256Hash": base64.b64encode(hashlib.sha256(f.data).hexdigest().encode()).decode(),
        "uri": f"{origin}/v1beta/files/{f.id}", "state": "ACTIVE",
        "source": "GENERATED" if f.generated else "UPLOADED",
    }
    if f.filename:
        data["displayName"] = f.filename
    if f.generated:
        data["downloadUri"] = f"{origin}/v1beta/files/{f.id}:download?alt=media"
    return data


def no_file(name: str) -> web.Response:
    return gemini_error(403, f"You do not have permission to access the File {name} or it "
                             "may not exist.")


def upload_endpoint(request: web.Request) -> str:
    return "files_upload_data" if "upload_id" in request.query else "files_upload"


async def upload(request: web.Request) -> web.Response:
    state = state_of(request)
    command = request.headers.get("X-Goog-Upload-Command", "")
    if "upload_id" not in request.query:
        if command.strip() != "start":
            return gemini_error(400, "Uploads must start with X-Goog-Upload-Command: start.")
        meta = (call_of(request).json or {}).get("file") or {}
        sid = uuid.uuid4().hex
        name = meta.get("name") or ""
        state.uploads[sid] = {
            "data": bytearray(), "name": name.split("/")[-1] or state.new_id(""),
            "mime": (request.headers.get("X-Goog-Upload-Header-Content-Type")
                     or meta.get("mimeType") or meta.get("mime_type") or "application/octet-stream"),
            "display_name": meta.get("displayName") or meta.get("display_name") or "",
        }
        url = (f"{request.scheme}://{request.host}{ROOT}/upload/{request.match_info['ver']}/files"
               f"?upload_id={sid}&upload_protocol=resumable")
        return web.json_response({}, headers={"X-Goog-Upload-URL": url,
                                              "X-Goog-Upload-Status": "active",
                                              "X-Goog-Upload-Chunk-Granularity": "8388608"})
    session = state.uploads.get(request.query["upload_id"])
    if session is None:
        return web.Response(status=404, text="Upload session not found.")
    offset = int(request.headers.get("X-Goog-Upload-Offset", len(session["data"])))
    if offset != len(session["data"]):
        return gemini_error(400, f"Upload offset {offset} does not match the "
                                 f"{len(session['data'])} bytes received so far.")
    session["data"] += call_of(request).raw
    if "finalize" not in command:
        return web.Response(text="", headers={"X-Goog-Upload-Status": "active"})
    del state.uploads[request.query["upload_id"]]
    f = StoredFile("gemini", session["name"], session["display_name"], bytes(session["data"]),
                   mime_type=session["mime"])
    state.files[("gemini", f.id)] = f
    return web.json_response({"file": file_json(request, f)},
                             headers={"X-Goog-Upload-Status": "final"})


def store_generated(state, file_id: str, data: bytes) -> StoredFile:
    f = StoredFile("gemini", file_id, "", data, mime_type="application/jsonl", generated=True)
    state.files[("gemini", file_id)] = f
    return f


def file_endpoint(request: web.Request) -> str:
    if request.method == "DELETE":
        return "files_delete"
    return "files_download" if request.match_info["target"].endswith(":download") else "files_get"


async def file_action(request: web.Request) -> web.Response:
    state = state_of(request)
    file_id, _, action = request.match_info["target"].partition(":")
    f = state.files.get(("gemini", file_id))
    if f is None:
        return no_file(file_id)
    if request.method == "DELETE":
        del state.files[("gemini", file_id)]
        return web.json_response({})
    if action == "download":
        return web.Response(body=f.data, content_type="application/octet-stream")
    return web.json_response(file_json(request, f))


async def files_list(request: web.Request) -> web.Response:
    files = [f for (p, _), f in state_of(request).files.items() if p == "gemini"]
    files.sort(key=lambda f: f.created_at, reverse=True)
    return web.json_response({"files": [file_json(request, f) for f in files]})


ROUTES = [
    ("POST", f"{ROOT}/{VER}/models/{{target}}", model_endpoint, model_action),
    ("POST", f"{ROOT}/upload/{VER}/files", upload_endpoint, upload),
    ("GET", f"{ROOT}/{VER}/files", "files_list", files_list),
    ("GET", f"{ROOT}/{VER}/files/{{target}}", file_endpoint, file_action),
    ("DELETE", f"{ROOT}/{VER}/files/{{target}}", file_endpoint, file_action),
]
