"""Codebooks and .qdc files are read bounded: regular files only, sizes checked, aliases' expansion capped."""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import ROOT
from tui.cli import cli
from tui.core.codebook import loading as C
from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.model import CodebookError
from tui.core.codebook.qdc import QdcError, import_qdc

STUDY = (ROOT / "codebook.yaml").read_text(encoding="utf-8")


def laughs() -> str:
    """The study codebook plus a 4,900-character string aliased 9,000 times: under 2 MB and under the
    10,000-node guard, yet about 44 million characters once expanded."""
    return (STUDY + "\nextra:\n  a: &a \"" + "x" * 4_900 + "\"\n  b: [" + ", ".join(["*a"] * 9_000) + "]\n")


def check(path: Path | str) -> object:
    return CliRunner().invoke(cli, ["--codebook", str(ROOT / "codebook.yaml"), "codebook", "check", str(path)])


def in_time(fn: object, seconds: float) -> object:
    """Run fn in a thread; fail (instead of hanging the suite) if it takes longer than `seconds`."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["r"] = fn()  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the test's thread
            box["e"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if "e" in box:
        raise box["e"]  # type: ignore[misc]
    return box["r"]


def test_aliases_that_expand_to_too_much_text_are_refused_without_expanding() -> None:
    text = laughs()
    assert len(text.encode()) < C.MAX_BYTES
    tracemalloc.start()  # memory, not time: expanded, these aliases would take about 48 MB of text
    try:
        with pytest.raises(CodebookError) as caught:
            parse_codebook(text, "laughs.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024
    [problem] = caught.value.problems
    assert problem.line is not None and f"expand to more than {C.MAX_EXPANDED_CHARS:,} characters" in problem.message


def test_laughs_through_the_cli_exit_2_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(), encoding="utf-8")
    result = check(path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and "billion laughs" in result.output


def test_aliases_within_the_limit_still_load() -> None:
    text = STUDY.replace('name: "Recruitment — Targeting"', 'name: &t "Recruitment — Targeting"', 1)
    text = text.replace("            name: Ransom\n", "            name: *t\n", 1)
    assert parse_codebook(text).node("targeting/financial-instability/ransom").name == "Recruitment — Targeting"  # type: ignore[union-attr]


@pytest.mark.parametrize("target,kind", [("/dev/zero", "is a device"), ("fifo", "is a named pipe"),
                                         ("folder", "is a folder")])
def test_only_regular_files_are_read_as_codebooks(tmp_path: Path, target: str, kind: str) -> None:
    if target == "fifo":
        path: Path | str = tmp_path / "codebook.yaml"
        os.mkfifo(path)
    elif target == "folder":
        path = tmp_path
    else:
        path = target
    result = in_time(lambda: check(path), 10)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert kind in result.output and "must be a regular file" in result.output  # type: ignore[attr-defined]
    with pytest.raises(CodebookError, match=kind.replace("is ", "it is ")):
        in_time(lambda: load_codebook(path), 10)


def test_a_codebook_that_grows_after_stat_is_cut_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "codebook.yaml"
    path.write_bytes(b"x" * (C.MAX_BYTES + 10))
    real_stat = os.stat
    monkeypatch.setattr(C.os, "stat", lambda p, *a, **k: os.stat_result((0o100644,) + tuple(real_stat(p))[1:6]
                                                                        + (10,) + tuple(real_stat(p))[7:]))
    with pytest.raises(CodebookError, match="over the 2.0 MiB limit"):
        load_codebook(path)


@pytest.mark.parametrize("target,kind", [("/dev/zero", "is a device"), ("fifo", "is a named pipe")])
def test_qdc_import_reads_regular_files_only(tmp_path: Path, target: str, kind: str) -> None:
    path: Path | str = target
    if target == "fifo":
        path = tmp_path / "in.qdc"
        os.mkfifo(path)
    result = in_time(lambda: CliRunner().invoke(cli, ["codebook", "import", str(path)]), 10)
    assert result.exit_code != 0 and kind in result.output, result.output  # type: ignore[attr-defined]
    with pytest.raises(QdcError, match=kind):
        in_time(lambda: import_qdc(path), 10)


def test_a_huge_qdc_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.qdc"
    with open(path, "wb") as fh:  # a sparse 2 GB file: no disk used, but reading it would take 2 GB
        fh.truncate(2 * 1024 ** 3)
    tracemalloc.start()  # memory, not time: reading it would take 2 GB
    try:
        result = CliRunner().invoke(cli, ["codebook", "import", str(path), "-o", str(tmp_path / "out.yaml")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024
    assert result.exit_code != 0 and "over the 8.0 MiB limit" in result.output, result.output
    assert not (tmp_path / "out.yaml").exists()


def test_a_qdc_with_a_doctype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.qdc"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;&lol;">]>\n'
                    '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="a" name="&l2;"/></Codes>'
                    "</CodeBook>\n", encoding="utf-8")
    with pytest.raises(QdcError, match="DOCTYPE"):
        import_qdc(path)


def test_the_cache_is_read_bounded_and_never_through_a_special_file(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALTUI_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "codebook.yaml"
    src.write_text(STUDY, encoding="utf-8")
    cached = C.cache_path(src.read_bytes())
    assert cached is not None
    cached.parent.mkdir(parents=True)
    cached.symlink_to("/dev/zero")  # a cache entry that would never end
    cb = in_time(lambda: load_codebook(src), 20)
    assert cb.name.startswith("Scam-driven")  # type: ignore[attr-defined]
    assert cached.is_symlink()  # refused, not read and not replaced
    cached.unlink()
    cached.write_bytes(b"{" + b" " * (C.MAX_CACHE_BYTES + 1) + b"}")
    assert load_codebook(src).name.startswith("Scam-driven")


def test_a_fresh_cache_is_written_atomically_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALTUI_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "codebook.yaml"
    src.write_text(STUDY, encoding="utf-8")
    first = load_codebook(src)
    cached = C.cache_path(src.read_bytes())
    assert cached is not None and cached.is_file()
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary file left
    assert load_codebook(src).hash == first.hash
