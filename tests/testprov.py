"""A throwaway provider plugin, installed by the tests as a real distribution on sys.path.

It proves a provider can be added without touching ``loom_core`` or the CLI, and gives the tests
providers with the shapes echo lacks: one that needs a key, one without batch or tokens, and one
that fails on chosen prompts.
"""

from __future__ import annotations

import asyncio
import os

from loom_core.errors import PermanentError
from loom_core.hookspecs import hookimpl
from loom_core.model import Completion
from loom_core.providers import ProviderSpec


class KeyedSync:
    """Answers ``<prompt> (keyed)``; model ``show-key`` answers with the key it was given;
    model ``slow`` takes 0.2 s per answer. Each call is logged to ``$KEYED_CALL_LOG`` if set."""

    def __init__(self, api_key):
        self.api_key = api_key

    async def generate(self, model, prompt, settings):
        log = os.environ.get("KEYED_CALL_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as out:
                out.write(prompt + "\n")
        if model == "slow":
            await asyncio.sleep(0.2)
        if "FAIL" in prompt:
            raise PermanentError(f"refused prompt: {prompt}")
        if model == "show-key":
            return Completion(text=f"key={self.api_key}")
        return Completion(text=f"{prompt} (keyed)")

    async def aclose(self):
        pass


@hookimpl
def loom_register_providers(register):
    register(ProviderSpec(
        name="keyed", key_env_var="KEYED_API_KEY", base_url_env_var="KEYED_BASE_URL",
        sync=lambda config: KeyedSync(config.api_key),
        no_batch_message="Error: keyed has no batch API. Re-run with --sync.",
        no_tokens_message="keyed has no remote API",
    ))
