"""The aiohttp application and the two ways to run it (background thread or process).

Every provider route goes through `instrument`, which does what all providers share:
count and record the call, track requests in flight, check the key, apply the global
rate limit, latency and fault rules, and only then call the provider's handler.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import threading
import time
from typing import Awaitable, Callable, Optional, Union

from aiohttp import web

from . import (anthropic_api, control, errors, gemini_api, gemini_batches, openai_api,
               openai_batches, openrouter_api)
from .state import CALL_KEY, STATE_KEY, Call, EmulatorState, state_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EndpointName = Union[str, Callable[[web.Request], str]]

BAD_KEY = "bad-key"
# Gemini's upload URL is a session URL: the SDK sends no key with the data, and
# labels the raw bytes application/json whatever they are.
NO_AUTH = RAW_BODY = {("gemini", "files_upload_data")}
_SECRET_HEADERS = {"authorization", "x-api-key", "x-goog-api-key"}


def api_key(provider: str, request: web.Request) -> Optional[str]:
    if provider == "anthropic" and request.headers.get("x-api-key"):
        return request.headers["x-api-key"]
    if provider == "gemini":
        return request.headers.get("x-goog-api-key") or request.query.get("key")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return None


def _drop(request: web.Request) -> web.StreamResponse:
    # Close the socket with nothing written: the client sees a dropped connection.
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


def instrument(provider: str, endpoint: EndpointName, handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        state: EmulatorState = state_of(request)
        name = endpoint(request) if callable(endpoint) else endpoint
        state.begin(provider)
        status = 0
        try:
            response = await _serve(state, provider, name, handler, request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            state.end(provider)
            state.statuses[(provider, name, status)] += 1

    return wrapped


async def _serve(state: EmulatorState, provider: str, name: str, handler: Handler,
                 request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    body = None
    if raw and request.content_type == "application/json" and (provider, name) not in RAW_BODY:
        try:
            body = json.loads(raw)
        except ValueError:
            return errors.error(provider, 400, "We could not parse the JSON body of your request.")
    call = request[CALL_KEY] = Call(json=body, raw=raw)
    key = api_key(provider, request)
    record = {
        "provider": provider, "endpoint": name, "method": request.method,
        "path": request.path, "query": dict(request.query), "json": body,
        "api_key": key, "time": time.time(),
        "headers": {k.lower(): ("***" if k.lower() in _SECRET_HEADERS else v)
                    for k, v in request.headers.items()},
    }
    call.record = record
    state.record(record)

    if (provider, name) not in NO_AUTH:
        if not key:
            return errors.missing_key(provider)
        if key == BAD_KEY:
            return errors.bad_key(provider)
    wait, limit = state.rate_limit_wait(provider)
    if wait:
        return errors.rate_limited(provider, wait, limit)
    decision = state.decide(provider, name)
    delay = state.latency_ms + decision.latency_ms
    if delay:
        await asyncio.sleep(delay / 1000)
    call.null_content = decision.null_content
    call.no_metadata = decision.no_metadata
    call.finish_reason = decision.finish_reason
    if decision.rule is not None:
        if decision.rule.drop:
            return _drop(request)
        return errors.fault_response(provider, decision.rule)
    return await handler(request)


def build_app(state: Optional[EmulatorState] = None) -> web.Application:
    app = web.Application(client_max_size=512 * 1024 * 1024)
    app[STATE_KEY] = state or EmulatorState()
    for module, provider in ((openai_api, "openai"), (openai_batches, "openai"),
                             (anthropic_api, "anthropic"), (gemini_api, "gemini"),
                             (gemini_batches, "gemini"),
                             (openrouter_api, "openrouter")):
        for method, path, endpoint, handler in module.ROUTES:
            app.router.add_route(method, path, instrument(provider, endpoint, handler))
    control.add_routes(app)
    return app


def raise_fd_limit(want: int = 8192) -> None:
    """512 keep-alive connections need more descriptors than some defaults allow."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           keepalive_timeout=75.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, sock.getsockname()[1]


class EmulatorServer:
    """The emulator on its own event loop in a daemon thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 0) -> None:
        self.host, self.port, self.seed = host, port, seed
        self.url = ""
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None

    def start(self) -> str:
        raise_fd_limit()
        ready = threading.Event()
        failure: list = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                self._runner, port = loop.run_until_complete(
                    start_site(build_app(EmulatorState(self.seed)), self.host, self.port))
                self.url = f"http://{self.host}:{port}"
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="loom-emulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> "EmulatorServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve_forever(host: str, port: int, seed: int, latency_ms: float,
                        on_ready: Callable[[str], None]) -> None:
    """Process mode: serve until cancelled (SIGTERM / SIGINT handled by the caller)."""
    raise_fd_limit()
    state = EmulatorState(seed, default_latency_ms=latency_ms)
    runner, bound = await start_site(build_app(state), host, port)
    on_ready(f"http://{host}:{bound}")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
