"""Loopback emulator of the OpenAI, Anthropic, Gemini and OpenRouter HTTP APIs.

The unmodified official SDKs run against it (base URLs from `EmulatorClient.env()`).
Replies are deterministic (`replies.reply_text`), batches follow each API's lifecycle
under test control, and faults are injected by rules. Modules:

- replies: answer text and word-count tokens; the `[[fail]]` marker
- server: aiohttp app, shared per-call handling, thread and process runners
- openai_api, openai_batches, anthropic_api, gemini_api, gemini_batches, openrouter_api
- lifecycle: provider-neutral batch states and outcomes
- faults, errors: fault rules, rate limiting, each provider's error shapes
- state: what the emulator remembers; control: the /_emulator HTTP API
- client: Python client of the control API; fixture: pytest fixtures; process: child process
"""

from .client import Emulator, EmulatorClient, EmulatorError
from .replies import FAIL_MARKER, count_words, reply_text
from .server import EmulatorServer

__all__ = ["Emulator", "EmulatorClient", "EmulatorError", "EmulatorServer", "FAIL_MARKER",
           "count_words", "reply_text"]
