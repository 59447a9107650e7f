"""OpenAI: chat completions, input-token counting and files (mounted at /openai/v1).

The chat-completion body built here is also what OpenAI batch output lines and
OpenRouter answers carry.
"""

from __future__ import annotations

import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Optional

from aiohttp import web

from .errors import openai_error
from .replies import count_words, input_tokens, reply_text, text_of_content
from .state import StoredFile, call_of, state_of

PREFIX = "/openai/v1"
SYSTEM_ROLES = ("system", "developer")


def split_messages(messages: list) -> tuple[str, list[str]]:
    """(prompt, texts): the last user message's text, and every message's text."""
    prompt = ""
    texts = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        text = text_of_content(message.get("content"))
        texts.append(text)
        if message.get("role") == "user":
            prompt = text
    return prompt, texts


def validate_chat(body: Any) -> Optional[str]:
    """The API's complaint about a chat-completion body, or None if it is fine."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not body.get("model"):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "[] is too short - 'messages'" if messages == [] else "Missing required parameter: 'messages'."
    if not any(isinstance(m, dict) and m.get("role") == "user" for m in messages):
        return "Invalid 'messages': a user message is required."
    return None


def completion(model: str, messages: list, *, id_prefix: str = "chatcmpl-emu",
               null_content: bool = False, finish_reason: str | None = None) -> dict:
    prompt, texts = split_messages(messages)
    answer = reply_text(model, prompt)
    n_in, n_out = input_tokens(texts), count_words(answer)
    return {
        "id": id_prefix + uuid.uuid4().hex[:20],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": None if null_content else answer,
                        "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": finish_reason or "stop",
        }],
        "usage": {
            "prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }


async def chat(request: web.Request) -> web.Response:
    body = call_of(request).json
    problem = validate_chat(body)
    if problem:
        return openai_error(400, problem)
    call = call_of(request)
    return web.json_response(completion(body["model"], body["messages"],
                                        null_content=call.null_content,
                                        finish_reason=call.finish_reason))


def _input_texts(value: Any) -> list[str]:
    # Responses API input: a string, or a list of items whose content is a string
    # or a list of {"type": "input_text", "text": ...} parts.
    if isinstance(value, str):
        return [value]
    texts = []
    for item in value or []:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            texts.append(text_of_content(item.get("content", item.get("text"))))
    return texts


async def count_tokens(request: web.Request) -> web.Response:
    body = call_of(request).json or {}
    if not body.get("model"):
        return openai_error(400, "Missing required parameter: 'model'.", param="model")
    texts = _input_texts(body.get("input"))
    if isinstance(body.get("instructions"), str):
        texts.append(body["instructions"])
    return web.json_response({"object": "response.input_tokens",
                              "input_tokens": input_tokens(texts)})


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[Optional[str], bytes]]:
    """Form fields by name: (file name or None, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def file_json(f: StoredFile) -> dict:
    return {"id": f.id, "object": "file", "bytes": len(f.data), "created_at": int(f.created_at),
            "filename": f.filename, "purpose": f.purpose, "status": "processed",
            "status_details": None, "expires_at": None}


def store_file(state, filename: str, data: bytes, purpose: str) -> StoredFile:
    f = StoredFile("openai", state.new_id("file-"), filename, data, purpose=purpose)
    state.files[("openai", f.id)] = f
    return f


async def files_upload(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/form-data"):
        return openai_error(400, "Files must be uploaded as multipart/form-data.")
    fields = parse_multipart(request.headers["Content-Type"], call_of(request).raw)
    purpose = fields.get("purpose", (None, b""))[1].decode()
    filename, data = fields.get("file", (None, None))
    call_of(request).record["form"] = {"purpose": purpose, "filename": filename,
                                 "bytes": None if data is None else len(data)}
    if data is None:
        return openai_error(400, "Missing required parameter: 'file'.", param="file")
    if not purpose:
        return openai_error(400, "Missing required parameter: 'purpose'.", param="purpose")
    if purpose == "batch" and not (filename or "").endswith(".jsonl"):
        return openai_error(400, "Invalid file format for Batch API. Must be .jsonl",
                            param="file")
    f = store_file(state_of(request), filename or "upload", data, purpose)
    return web.json_response(file_json(f))


def _find_file(request: web.Request) -> Optional[StoredFile]:
    return state_of(request).files.get(("openai", request.match_info["file_id"]))


def _no_file(request: web.Request) -> web.Response:
    return openai_error(404, f"No such File object: {request.match_info['file_id']}", param="id")


async def files_get(request: web.Request) -> web.Response:
    f = _find_file(request)
    return web.json_response(file_json(f)) if f else _no_file(request)


async def files_download(request: web.Request) -> web.Response:
    f = _find_file(request)
    if f is None:
        return _no_file(request)
    return web.Response(body=f.data, content_type="application/octet-stream")


ROUTES = [
    ("POST", PREFIX + "/chat/completions", "chat", chat),
    ("POST", PREFIX + "/responses/input_tokens", "count_tokens", count_tokens),
    ("POST", PREFIX + "/files", "files_upload", files_upload),
    ("GET", PREFIX + "/files/{file_id}", "files_get", files_get),
    ("GET", PREFIX + "/files/{file_id}/content", "files_download", files_download),
]
