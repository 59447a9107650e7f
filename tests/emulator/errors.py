"""Each provider's real error JSON and headers, so the SDKs raise their own exceptions.

OpenAI: {"error": {"message", "type", "param", "code"}}; Anthropic: {"type": "error",
"error": {"type", "message"}, "request_id"}; Gemini: {"error": {"code", "message",
"status", "details"}} (google.rpc.Status); OpenRouter: {"error": {"code", "message"}}.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

_OPENAI = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    402: ("billing_error", None, "Payment required."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for requests per min (RPM). Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_ANTHROPIC = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
_GEMINI = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                      "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}
_OPENROUTER = {
    400: "Bad request.",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    404: "Not found.",
    429: "Rate limit exceeded. Please slow down.",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available provider could serve the request.",
}

GEMINI_QUOTA_MESSAGE = ("You exceeded your current quota, please check your plan and "
                        "billing details.")


def request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def _json(status: int, body: dict, headers: Optional[dict] = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json",
                        headers=headers or {})


def openai_error(status: int, message: Optional[str] = None, *, type_: Optional[str] = None,
                 code: Optional[str] = None, param: Optional[str] = None,
                 headers: Optional[dict] = None) -> web.Response:
    d_type, d_code, d_msg = _OPENAI.get(status, ("server_error" if status >= 500 else
                                                 "invalid_request_error", None, "Error."))
    body = {"error": {"message": message or d_msg, "type": type_ or d_type,
                      "param": param, "code": code if code is not None else d_code}}
    return _json(status, body, {"x-request-id": request_id(), **(headers or {})})


def anthropic_error(status: int, message: Optional[str] = None, *, type_: Optional[str] = None,
                    headers: Optional[dict] = None) -> web.Response:
    d_type, d_msg = _ANTHROPIC.get(status, ("api_error", "Error."))
    rid = request_id()
    body = {"type": "error", "error": {"type": type_ or d_type, "message": message or d_msg},
            "request_id": rid}
    return _json(status, body, {"request-id": rid, **(headers or {})})


def gemini_error(status: int, message: Optional[str] = None, *, grpc: Optional[str] = None,
                 details: Optional[list] = None) -> web.Response:
    d_grpc, d_msg = _GEMINI.get(status, ("UNKNOWN", "Unknown error."))
    err = {"code": status, "message": message or d_msg, "status": grpc or d_grpc}
    if details:
        err["details"] = details
    return _json(status, {"error": err})


def openrouter_error(status: int, message: Optional[str] = None, *,
                     headers: Optional[dict] = None, metadata: Optional[dict] = None) -> web.Response:
    err: dict = {"code": status, "message": message or _OPENROUTER.get(status, "Error.")}
    if metadata:
        err["metadata"] = metadata
    return _json(status, {"error": err}, headers)


def error(provider: str, status: int, message: Optional[str] = None) -> web.Response:
    """A plain error of `status` in `provider`'s shape."""
    return {"openai": openai_error, "anthropic": anthropic_error, "gemini": gemini_error,
            "openrouter": openrouter_error}[provider](status, message)


def _go_duration(seconds: float) -> str:
    # OpenAI's x-ratelimit-reset-* headers look like "120ms", "1.5s", "6m0s".
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(seconds // 60)}m{int(seconds % 60)}s"


def rate_limit_headers(provider: str, retry_after: Optional[float], limit: float = 60) -> dict:
    """Retry-After plus the provider's own rate-limit headers (none for Gemini)."""
    wait = retry_after if retry_after is not None else 1.0
    headers: dict = {}
    if retry_after is not None and provider != "gemini":
        headers["retry-after"] = str(max(0, math.ceil(retry_after)))
    limit_s = str(int(math.ceil(limit)))
    if provider == "openai":
        headers.update({
            "x-ratelimit-limit-requests": limit_s, "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": _go_duration(wait),
            "x-ratelimit-limit-tokens": "1000000", "x-ratelimit-remaining-tokens": "1000000",
            "x-ratelimit-reset-tokens": "0s",
        })
    elif provider == "anthropic":
        # Whole seconds, rounded up: a reset stamp must never come before the real one.
        reset = datetime.fromtimestamp(math.ceil(time.time() + wait), tz=timezone.utc)
        headers.update({
            "anthropic-ratelimit-requests-limit": limit_s,
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    elif provider == "openrouter":
        headers.update({
            "X-RateLimit-Limit": limit_s, "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int((time.time() + wait) * 1000)),
        })
    return headers


def gemini_retry_delay(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def rate_limited(provider: str, retry_after: Optional[float], limit: float = 60,
                 message: Optional[str] = None) -> web.Response:
    """A 429 that will pass: retry after `retry_after` seconds."""
    headers = rate_limit_headers(provider, retry_after, limit)
    if provider == "openai":
        return openai_error(429, message, headers=headers)
    if provider == "anthropic":
        return anthropic_error(429, message, headers=headers)
    if provider == "openrouter":
        return openrouter_error(429, message, headers=headers)
    details = []
    if retry_after is not None:
        # Gemini puts the wait in the body, never in a header.
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": gemini_retry_delay(retry_after)})
    return gemini_error(429, message, details=details)


def quota_exhausted(provider: str, message: Optional[str] = None) -> web.Response:
    """A quota that will not come back by waiting."""
    if provider == "openai":
        return openai_error(429, message or "You exceeded your current quota, please check "
                            "your plan and billing details.", type_="insufficient_quota",
                            code="insufficient_quota")
    if provider == "anthropic":
        # Anthropic reports an empty credit balance as a 400, not a 429.
        return anthropic_error(400, message or "Your credit balance is too low to access "
                               "the Anthropic API. Please go to Plans & Billing to upgrade "
                               "or purchase credits.")
    if provider == "openrouter":
        return openrouter_error(402, message)
    details = [{
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
            "quotaId": "GenerateRequestsPerDayPerProjectPerModel",
            "quotaValue": "0",
        }],
    }, {"@type": "type.googleapis.com/google.rpc.Help",
        "links": [{"description": "Learn more about Gemini API quotas",
                   "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]}]
    return gemini_error(429, message or GEMINI_QUOTA_MESSAGE, details=details)


def bad_key(provider: str) -> web.Response:
    """The provider's answer to an unknown API key."""
    if provider == "openai":
        return openai_error(401, "Incorrect API key provided: bad-key. You can find your API "
                            "key at https://platform.openai.com/account/api-keys.")
    if provider == "anthropic":
        return anthropic_error(401, "invalid x-api-key")
    if provider == "openrouter":
        return openrouter_error(401, "User not found.")
    return gemini_error(400, "API key not valid. Please pass a valid API key.", details=[{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }])


def missing_key(provider: str) -> web.Response:
    if provider == "openai":
        return openai_error(401, "You didn't provide an API key. You need to provide your API "
                            "key in an Authorization header using Bearer auth.", code=None)
    if provider == "anthropic":
        return anthropic_error(401, "x-api-key header is required")
    if provider == "openrouter":
        return openrouter_error(401, "No auth credentials found")
    # The Gemini API answers a call without a key with 403, not 401.
    return gemini_error(403, "Method doesn't allow unregistered callers (callers without "
                        "established identity). Please use API Key or other form of API "
                        "consumer identity to call this API.")


def fault_response(provider: str, rule) -> web.Response:
    """The answer an installed fault rule gives in place of the real one."""
    if rule.openrouter_200_error:
        return _json(200, {"error": {"code": rule.status or 502,
                                     "message": rule.message or _OPENROUTER[502]}})
    if rule.quota:
        return quota_exhausted(provider, rule.message)
    if rule.status == 429:
        return rate_limited(provider, rule.retry_after, message=rule.message)
    if rule.status == 401 and provider != "gemini" and not rule.message:
        return bad_key(provider)
    resp = error(provider, rule.status, rule.message)
    if rule.retry_after is not None and provider != "gemini":
        resp.headers["retry-after"] = str(max(0, math.ceil(rule.retry_after)))
    return resp
