"""OpenRouter: the OpenAI-compatible chat endpoint (mounted at /openrouter/api/v1).

Its oddities come from fault rules: `openrouter_200_error` (HTTP 200 whose body is
only {"error": {...}}), `null_content` (message.content null), 402 for spent credits,
and 429 with X-RateLimit-* headers whose reset is in epoch milliseconds.
"""

from __future__ import annotations

from aiohttp import web

from .errors import openrouter_error
from .openai_api import completion, validate_chat
from .state import call_of

PREFIX = "/openrouter/api/v1"


async def chat(request: web.Request) -> web.Response:
    body = call_of(request).json
    problem = validate_chat(body)
    if problem:
        return openrouter_error(400, problem)
    data = completion(body["model"], body["messages"], id_prefix="gen-emu",
                      null_content=call_of(request).null_content,
                      finish_reason=call_of(request).finish_reason)
    data["provider"] = "Emulated"
    data.pop("service_tier", None)
    data["usage"]["cost"] = 0
    return web.json_response(data)


ROUTES = [
    ("POST", PREFIX + "/chat/completions", "chat", chat),
]
