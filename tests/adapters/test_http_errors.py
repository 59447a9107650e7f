"""``one_line``: every provider's messages on one line, the API key masked."""

from __future__ import annotations

from loom_adapters.providers.http_errors import one_line

KEY = "sk-test-1234567890"


def test_whitespace_collapses_and_the_key_is_masked() -> None:
    said = f"Incorrect API key provided:\n  {KEY}.\tSee https://example.test/keys"
    assert one_line(said, KEY) == ("Incorrect API key provided: ***. See "
                                   "https://example.test/keys")


def test_anything_printable_becomes_one_line() -> None:
    assert one_line(ValueError("bad\nvalue")) == "bad value"
    assert one_line({"a": 1}) == "{'a': 1}"


def test_a_key_too_short_to_be_one_masks_nothing() -> None:
    # Masking "k" would turn "unknown key" into "un***nown ***ey".
    assert one_line("unknown key", "k") == "unknown key"
    assert one_line("unknown key", None) == "unknown key"
