"""``CodecRegistry``: a dataset's format chosen by its file name, gzip or not."""

from __future__ import annotations

import pytest

from loom_core.codecs import CodecRegistry, CodecSpec, strip_gzip
from loom_core.errors import InputError

from .fakes import MemoryCodec


def registry() -> tuple[CodecRegistry, MemoryCodec, MemoryCodec]:
    json_codec, csv_codec = MemoryCodec(), MemoryCodec()
    codecs = CodecRegistry([
        CodecSpec(name="json", suffixes=[".json"], factory=lambda: json_codec),
        CodecSpec(name="csv", suffixes=(".csv", ".tsv"), factory=lambda: csv_codec),
    ])
    return codecs, json_codec, csv_codec


@pytest.mark.parametrize(("name", "plain"), [("a.csv.gz", "a.csv"), ("a.CSV.GZ", "a.CSV"),
                                             ("a.csv", "a.csv"), ("gz", "gz")])
def test_strip_gzip(name: str, plain: str) -> None:
    assert strip_gzip(name) == plain


@pytest.mark.parametrize("path", ["d/a.csv", "a.csv.gz", "A.CSV", "A.CSV.GZ", "b.tsv"])
def test_a_path_finds_its_codec_with_or_without_gzip(path: str) -> None:
    codecs, _, csv_codec = registry()
    assert codecs.for_path(path) is csv_codec


def test_an_unsupported_file_lists_what_is_accepted() -> None:
    codecs, _, _ = registry()
    with pytest.raises(InputError) as caught:
        codecs.for_path("notes.txt")
    assert str(caught.value) == (
        "Unsupported file type: notes.txt (expected .csv, .csv.gz, .json, .json.gz, .tsv, "
        ".tsv.gz).")
    assert caught.value.exit_code == 2


def test_file_type_finds_the_codec_a_state_file_names() -> None:
    codecs, json_codec, _ = registry()
    assert codecs.for_file_type("json") is json_codec


def test_an_unknown_file_type_is_an_input_error() -> None:
    codecs, _, _ = registry()
    with pytest.raises(InputError, match="parquet"):
        codecs.for_file_type("parquet")


def test_the_first_codec_of_a_name_wins() -> None:
    codecs, json_codec, _ = registry()
    codecs.register(CodecSpec(name="json", suffixes=[".jsn"], factory=MemoryCodec))
    assert codecs.for_file_type("json") is json_codec
    with pytest.raises(InputError):
        codecs.for_path("a.jsn")
