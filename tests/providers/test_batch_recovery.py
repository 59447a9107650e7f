"""``find_batch``: each batch adapter finds a batch Loom submitted but never recorded."""

from __future__ import annotations

import pytest

from loom_core.clock import utc_now
from loom_core.model import BatchRequest, GenerationSettings
from loom_core.providers import ProviderConfig

REQUESTS = [BatchRequest(f"row-{i}", f"prompt {i}") for i in range(3)]


def _adapter(provider: str):
    if provider == "openai":
        from loom_adapters.providers.openai.batch import OpenAIBatch
        return OpenAIBatch.from_config(ProviderConfig(api_key="k"))
    if provider == "anthropic":
        from loom_adapters.providers.anthropic.batch import AnthropicBatch
        return AnthropicBatch.from_config(ProviderConfig(api_key="k"))
    from loom_adapters.providers.google.batch import GoogleBatch
    return GoogleBatch.from_config(ProviderConfig(api_key="k"))


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_a_submitted_batch_is_found_again(provider, emulator):
    adapter = _adapter(provider)
    created_after = utc_now()
    metadata = {"loom_job": "loom-20261126T000000-abcd1234", "loom_part": "1"}
    other = adapter.submit("m", REQUESTS[:1], GenerationSettings(),
                           {"loom_job": "loom-other", "loom_part": "0"})
    batch_id = adapter.submit("m", REQUESTS, GenerationSettings(), metadata)
    assert adapter.find_batch(metadata, len(REQUESTS), created_after) == batch_id
    assert batch_id != other


@pytest.mark.parametrize("provider", ["openai", "google"])
def test_a_batch_that_never_arrived_is_not_found(provider, emulator):
    adapter = _adapter(provider)
    created_after = utc_now()
    adapter.submit("m", REQUESTS, GenerationSettings(), {"loom_job": "a", "loom_part": "0"})
    assert adapter.find_batch({"loom_job": "b", "loom_part": "0"}, 3, created_after) is None


def test_anthropic_claims_nothing_when_the_match_is_ambiguous(emulator):
    adapter = _adapter("anthropic")
    created_after = utc_now()
    adapter.submit("m", REQUESTS, GenerationSettings(), {})
    adapter.submit("m", REQUESTS, GenerationSettings(), {})
    assert adapter.find_batch({"loom_job": "x", "loom_part": "0"}, 3, created_after) is None
    assert adapter.find_batch({"loom_job": "x", "loom_part": "0"}, 7, created_after) is None


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_limits_are_declared(provider, emulator):
    limits = _adapter(provider).limits
    assert limits.max_bytes and limits.max_bytes > 100 * 1024 * 1024
