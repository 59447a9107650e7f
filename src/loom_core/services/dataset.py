"""Loading a dataset for a run: the checks every mode shares before anything is sent."""

from __future__ import annotations

import attrs

from ..codecs import CodecRegistry
from ..errors import InputError, OutputExistsError
from ..model import GenerationSettings, Record
from ..naming import default_output_path
from ..ports import FileCodec, OutputGuard
from ..template import PromptTemplate

__all__ = ["Dataset", "DatasetRequest", "load_dataset", "ensure_writable", "output_path_for"]


@attrs.frozen
class DatasetRequest:
    """What every run over a file is asked: which file, which provider and model, where the
    prompts come from, where the output goes, and how to generate."""

    source: str
    provider: str
    model: str
    prompt_column: str | None = None
    #: Builds each prompt from the row's fields instead of reading ``prompt_column``.
    template: str | None = None
    output: str | None = None
    settings: GenerationSettings = attrs.field(factory=GenerationSettings)
    with_meta: bool = False


class Dataset:
    """A dataset's records with the codec that read them."""

    def __init__(self, source: str, codec: FileCodec, records: list[Record]) -> None:
        self.source = source
        self.codec = codec
        self.records = records


def load_dataset(codecs: CodecRegistry, source: str, prompt_column: str | None,
                 template: str | None = None) -> Dataset:
    """Read every record, with prompts from ``prompt_column`` or built by ``template``."""
    codec = codecs.for_path(source)
    parsed = PromptTemplate(template) if template is not None else None
    records = list(codec.read(source, prompt_column, parsed))
    if not records:
        raise InputError(f"{source}: the dataset is empty; there is nothing to send.")
    return Dataset(source, codec, records)


def output_path_for(source: str, output: str | None, codec: FileCodec, provider: str,
                    model: str) -> str:
    return output or default_output_path(source, provider, model, codec.output_suffix)


def ensure_writable(guard: OutputGuard, path: str, *, pending: str | None = None) -> None:
    """Refuse, before any money is spent, to replace an output the user wants to keep.

    ``pending`` names the batch that stays pending meanwhile, when there is one.
    """
    if not guard.may_write(path):
        raise OutputExistsError(path, pending)
