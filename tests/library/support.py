"""Small helpers shared by the library tests."""

from __future__ import annotations

import json
from pathlib import Path

#: The model name the emulator answers for (``reply_text(MODEL, prompt)``).
MODEL = "gpt-emu"


def sent(log: Path) -> list[str]:
    """The prompts the keyed test provider was sent, one per call."""
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def write_json(name: str, items: list[dict]) -> Path:
    path = Path(name)
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def read_json(name: str | Path) -> list[dict]:
    return json.loads(Path(name).read_text(encoding="utf-8"))
