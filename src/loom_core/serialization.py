"""The JSON shapes of what Loom keeps on disk, through one cattrs converter.

State files and cache entries keep the field names of the released loom-batch
(docs/compatibility.md), so files it wrote still load and files Loom writes still load in it.
Unknown fields are ignored on the way in; optional fields Loom adds are left out when unset.
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn

from .errors import StateError
from .model import BatchJob, BatchStatus, CacheEntry, Completion, GenerationSettings

__all__ = [
    "batch_job_from_dict", "batch_job_to_dict", "cache_entry_from_dict", "cache_entry_to_dict",
    "completion_from_dict", "completion_to_dict",
]

_converter = cattrs.Converter()


def _structure_status(value: Any, _type: type) -> BatchStatus:
    # A status this version does not know (written by a newer or older tool) must not make the
    # batch unreadable: "unknown" makes the next fetch look again.
    try:
        return BatchStatus(value)
    except ValueError:
        return BatchStatus.UNKNOWN


_SETTING_NAMES = frozenset(field.name for field in attrs.fields(GenerationSettings))


def _structure_settings(value: Any, _type: type) -> GenerationSettings:
    # A setting this version does not know (from a newer Loom) is dropped, not fatal: fetching
    # a batch never needs its settings, and unknown fields are ignored (docs/compatibility.md).
    known = {k: v for k, v in (value or {}).items() if k in _SETTING_NAMES}
    return GenerationSettings(**known)


_converter.register_structure_hook(BatchStatus, _structure_status)
_converter.register_unstructure_hook(BatchStatus, lambda status: status.value)
_converter.register_structure_hook(GenerationSettings, _structure_settings)
_converter.register_unstructure_hook(GenerationSettings, lambda s: s.set_fields())
_converter.register_unstructure_hook(
    CacheEntry, make_dict_unstructure_fn(CacheEntry, _converter, _cattrs_omit_if_default=True)
)
_converter.register_unstructure_hook(
    Completion, make_dict_unstructure_fn(Completion, _converter, _cattrs_omit_if_default=True)
)


def batch_job_to_dict(job: BatchJob) -> dict[str, Any]:
    data = _converter.unstructure(job)
    settings = data.pop("settings")
    if settings:
        data["params"] = settings
    # The released tool's fields only, unless Loom's additions say something.
    for optional in ("base_url", "job_id", "prompt_template"):
        if data.get(optional) is None:
            data.pop(optional)
    if not job.cached_responses:
        data.pop("cached_responses")  # kept only where the released tool wrote some
    if job.job_id is None and len(job.parts) == 1:
        data.pop("parts")  # one batch, named by batch_id: exactly the released layout
    return data


def batch_job_from_dict(data: Any) -> BatchJob:
    if not isinstance(data, dict):
        raise StateError("a batch state file must hold a JSON object")
    data = dict(data)
    data.setdefault("prompt_column", None)
    data.setdefault("output_path", None)
    data.setdefault("with_meta", False)
    data.setdefault("status", BatchStatus.UNKNOWN.value)
    data["settings"] = data.pop("params", None) or {}
    try:
        return _converter.structure(data, BatchJob)
    except Exception as exc:  # cattrs raises a ClassValidationError tree
        missing = _missing_fields(exc)
        detail = f"missing {', '.join(missing)}" if missing else "; ".join(
            cattrs.transform_error(exc, path="state"))
        raise StateError(f"malformed batch state ({detail})") from None


def completion_to_dict(custom_id: str, completion: Completion) -> dict[str, Any]:
    """One line of a part's kept results: the custom id and the completion's set fields."""
    data = {"custom_id": custom_id}
    data.update(_converter.unstructure(completion))
    return data


def completion_from_dict(data: Any) -> tuple[str, Completion]:
    if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
        raise StateError("a kept result must be a JSON object with a string 'custom_id'")
    data = dict(data)
    custom_id = data.pop("custom_id")
    try:
        return custom_id, _converter.structure(data, Completion)
    except Exception as exc:
        raise StateError(f"malformed kept result ({exc})") from None


def cache_entry_to_dict(entry: CacheEntry) -> dict[str, Any]:
    return _converter.unstructure(entry)


def cache_entry_from_dict(data: Any) -> CacheEntry:
    if not isinstance(data, dict) or not isinstance(data.get("response"), str):
        raise StateError("a cache entry must be a JSON object with a string 'response'")
    data = dict(data)
    data.setdefault("provider", "")
    data.setdefault("model", "")
    data.setdefault("created_at", "")
    try:
        return _converter.structure(data, CacheEntry)
    except Exception as exc:
        raise StateError(f"malformed cache entry ({exc})") from None


def _missing_fields(exc: BaseException) -> list[str]:
    names = []
    for sub in getattr(exc, "exceptions", ()):
        note = " ".join(getattr(sub, "__notes__", []))
        if isinstance(sub, KeyError) and "Structuring class" in note:
            names.append(str(sub.args[0]))
    return names
