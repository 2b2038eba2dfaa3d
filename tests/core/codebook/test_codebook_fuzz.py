"""Mutated and truncated codebooks (YAML) and .qdc files: a valid codebook or a clean refusal, never a crash."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples import ROOT
from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook, CodebookError
from tui.core.codebook.qdc import Imported, QdcError, export_qdc, import_qdc

YAML = (ROOT / "codebook.yaml").read_bytes()
QDC = export_qdc(load_codebook(ROOT / "codebook.yaml")).encode("utf-8")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
CLI = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
YAML_BITS = [b":", b"- ", b"&a ", b"*a", b"*b", b"<<: *a", b"!!python/object:os.system ", b"!!binary ", b"\t",
             b"\x00", b"\x1b[31m", b"{", b"}", b"[", b"]", b"'", b'"', b"\n", b"  ", b"\xff\xfe", b"\\e", b"---\n",
             b"id: x\n", b"key: \"1\"\n", b"? ", b"%YAML 1.1\n", b"\xe2\x80\xae", b"1e9999", b"~"]
XML_BITS = [b"<!DOCTYPE x [<!ENTITY a \"b\">]>", b"&a;", b"&amp;", b"&#0;", b"&#x9b;", b"<Code>", b"</Code>",
            b"<Code name=\"x\">", b"]]>", b"<![CDATA[", b"<?xml version=\"1.0\"?>", b"\x00", b"\xff", b"\"",
            b"<", b">", b"/>", b"<!ENTITY x SYSTEM \"file:///etc/passwd\">", b"<!-- ", b"-->", b"\n"]
_names = itertools.count()


@st.composite
def mutated(draw: st.DrawFn, base: bytes, bits: list[bytes]) -> bytes:
    """The base file truncated, with spans cut, replaced, duplicated, or snippets and bytes put in."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["truncate", "cut", "insert", "bytes", "dup"]))
        if op == "truncate":
            del data[at:]
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 400))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(bits))
        elif op == "bytes":
            data[at:at + draw(st.integers(0, 8))] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 300))]
    return bytes(data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QUALTUI_CACHE", str(path / "cache"))  # never reuse a cached form of a mutant
        yield path


def write(folder: Path, data: bytes, suffix: str) -> Path:
    path = folder / f"case{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


def assert_one_line_each(message: str, path: Path) -> None:
    assert message.strip(), "an empty refusal"
    for line in message.splitlines():
        assert line.startswith(str(path)) or line.startswith(path.name), line


@FUZZ
@given(data=mutated(YAML, YAML_BITS))
def test_a_mutated_codebook_loads_or_is_refused_with_file_and_line(folder: Path, data: bytes) -> None:
    path = write(folder, data, ".yaml")
    try:
        cb = load_codebook(path)
    except CodebookError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file == str(path) and (p.line is None or p.line >= 1) and p.message.strip()
            assert "\n" not in p.message
        assert_one_line_each(str(exc), path)
    else:
        assert isinstance(cb, Codebook)  # a skeleton (no categories, no codes) is a valid codebook


@CLI
@given(data=mutated(YAML, YAML_BITS))
def test_codebook_check_on_a_mutant_exits_0_or_2_without_a_traceback(folder: Path, data: bytes) -> None:
    path = write(folder, data, ".yaml")
    result = CliRunner().invoke(cli, ["--codebook", str(path), "codebook", "check", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@FUZZ
@given(data=mutated(QDC, XML_BITS))
def test_a_mutated_qdc_imports_or_is_refused_in_one_sentence(folder: Path, data: bytes) -> None:
    path = write(folder, data, ".qdc")
    try:
        result = import_qdc(path)
    except QdcError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and path.name in message, message
    else:
        assert isinstance(result, Imported) and result.codebook.categories


@CLI
@given(data=mutated(QDC, XML_BITS))
def test_codebook_import_on_a_mutant_exits_cleanly(folder: Path, data: bytes) -> None:
    path = write(folder, data, ".qdc")
    out = folder / f"{path.stem}.yaml"
    result = CliRunner().invoke(cli, ["codebook", "import", str(path), "-o", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code:
        assert not out.exists() and result.output.startswith("Error: ")
        assert len(result.output.strip().splitlines()) == 1, result.output
    else:
        assert load_codebook(out).categories
