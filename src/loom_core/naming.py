"""Names Loom derives from user data: output paths, state-file names, custom ids.

Pure string work on paths (``PurePath``), so that whatever a provider or a user hands us, the
names stay inside the folder they are meant for.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from .codecs import strip_gzip

__all__ = ["custom_id_for", "default_output_path", "safe_component", "state_file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_component(text: str) -> str:
    """Replace every character that is not a letter, digit, ``.``, ``_`` or ``-`` by ``_``.

    For ordinary ids this is the released tool's rule (``batches/abc`` -> ``batches_abc``); it
    also neutralises separators, so no id can name a path outside its folder.
    """
    safe = _UNSAFE.sub("_", text)
    # A name made only of dots would be "." or ".." on its own; prefix keeps it a plain name.
    return safe if safe.strip(".") else "_" + safe


def default_output_path(source: str, provider: str, model: str, output_suffix: str) -> str:
    """``dir/prompts.json.gz`` -> ``dir/prompts_results_<provider>_<model>.json``."""
    path = PurePath(source)
    name = strip_gzip(path.name)
    stem = name[: -len(output_suffix)] if name.lower().endswith(output_suffix) else PurePath(name).stem
    filename = f"{stem}_results_{safe_component(provider)}_{safe_component(model)}{output_suffix}"
    return str(path.with_name(filename))


def state_file_name(provider: str, batch_id: str) -> str:
    """``<provider>_<safe_id>.json``, the seed's name for a batch's state file."""
    return f"{safe_component(provider)}_{safe_component(batch_id)}.json"


def custom_id_for(index: int) -> str:
    """The custom id sent for the row at ``index``: short, unique, and valid for every provider
    (Anthropic allows only ``^[a-zA-Z0-9_-]{1,64}$``)."""
    return f"row-{index}"
