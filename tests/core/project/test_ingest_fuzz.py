"""Fuzzing every import reader: a damaged file is either refused in one sentence or imported correctly.

Each test starts from a small valid file made of real posts (data/sample_xhs.json) and damages it the
way disks, crawlers and hands do: cut at a random byte, bytes flipped, inserted, deleted, a slice
duplicated, NUL or invalid UTF-8 inserted. Whatever comes out, the importer must either refuse it with
`ImportError_` (one line, nothing written) or import it with the project consistent with its report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples import SAMPLE
from tui.cli import cli
from tui.core.project.ingest import ImportError_, Mapping, import_file
from tui.core.project.store import Store

POSTS: list[dict[str, Any]] = json.loads(SAMPLE.read_text(encoding="utf-8"))[:3]
GENERIC = Mapping(platform="forum", id_col="post_id", text_col="body", title_col=None, time_col="when",
                  tags_col="tags", url_col=None, author_col=None, keyword_col=None)
# A small budget keeps the suite fast; QUALTUI_FUZZ_EXAMPLES=2000 searches harder before a release.
EXAMPLES = int(os.environ.get("QUALTUI_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _csv(rows: list[dict[str, Any]], bom: bool) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _generic_rows() -> list[dict[str, Any]]:
    return [{"post_id": p["note_id"], "body": p["desc"], "when": p["time"], "tags": p["tag_list"]} for p in POSTS]


# name, file suffix, valid content, mapping
SOURCES: dict[str, tuple[str, bytes, Mapping | None]] = {
    "mediacrawler-json": (".json", json.dumps(POSTS, ensure_ascii=False, indent=1).encode(), None),
    "mediacrawler-jsonl": (".jsonl", b"".join(json.dumps(p, ensure_ascii=False).encode() + b"\n" for p in POSTS),
                           None),
    "mediacrawler-csv-bom": (".csv", _csv(POSTS, bom=True), None),
    "generic-csv": (".csv", _csv(_generic_rows(), bom=False), GENERIC),
    "generic-jsonl": (".jsonl", b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n"
                                         for r in _generic_rows()), GENERIC),
}

JUNK = st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"]", b"[", b"{", b"}",
                        b",", b'"', b"\n", b"\r", b"\\", b"\\ud800", b"1e999", b"-", b"null", b"\x1b[31m"])


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to three random kinds of damage."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "junk"]))
        at = draw(st.integers(0, len(out)))
        if kind == "truncate":
            del out[at:]
        elif kind == "flip" and at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del out[at:at + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            end = min(len(out), at + draw(st.integers(1, 200)))
            out[at:at] = out[at:end]
        else:
            out[at:at] = draw(JUNK)
    return bytes(out)


def _state(store: Store) -> tuple[int, int]:
    return (store.count_posts(), store.db.execute("SELECT count(*) FROM imports").fetchone()[0])


def _check_core(name: str, content: bytes, line_limit: int | None = None) -> None:
    suffix, _, mapping = SOURCES[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"crawl{suffix}"
        path.write_bytes(content)
        store = Store(Path(tmp) / "p.db")
        try:
            before = _state(store)
            limit = "tui.core.project.readers.MAX_LINE_BYTES"
            patch = mock.patch(limit, line_limit) if line_limit else mock.patch.dict({})
            with patch:
                try:
                    report = import_file(store, path, mapping=mapping)
                except ImportError_ as exc:
                    message = str(exc)
                    assert "\n" not in message and message.endswith("."), message
                    assert _state(store) == before, "a refused import wrote something"
                    return
            posts, imports = _state(store)
            assert posts - before[0] == report.imported
            assert imports - before[1] == (1 if report.imported else 0)
            assert report.imported + report.duplicates + report.filtered <= report.read
            for post in store.posts(limit=100):
                assert post["platform_id"].strip() and (post["text"].strip() or post["title"].strip())
                assert post["label"].startswith("P-")
        finally:
            store.close()


def _fuzz_core(name: str, line_limit: int | None = None) -> Callable[..., None]:
    @FUZZ
    @given(content=damaged(SOURCES[name][1]))
    def test(content: bytes) -> None:
        _check_core(name, content, line_limit)

    return test


def test_valid_sources_import() -> None:
    for name, (suffix, content, mapping) in SOURCES.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"crawl{suffix}"
            path.write_bytes(content)
            store = Store(Path(tmp) / "p.db")
            assert import_file(store, path, mapping=mapping).imported == len(POSTS), name
            store.close()


test_fuzz_mediacrawler_json_array = _fuzz_core("mediacrawler-json")
test_fuzz_mediacrawler_jsonl = _fuzz_core("mediacrawler-jsonl")
test_fuzz_mediacrawler_csv_with_bom = _fuzz_core("mediacrawler-csv-bom")
test_fuzz_generic_csv_with_mapping = _fuzz_core("generic-csv")
test_fuzz_generic_jsonl_with_mapping = _fuzz_core("generic-jsonl")
# With a line limit shorter than some posts, the bounded line reader's refusals are fuzzed too.
test_fuzz_jsonl_with_a_short_line_limit = _fuzz_core("mediacrawler-jsonl", line_limit=700)
test_fuzz_csv_with_a_short_line_limit = _fuzz_core("mediacrawler-csv-bom", line_limit=300)
test_fuzz_json_array_with_a_short_record_limit = _fuzz_core("mediacrawler-json", line_limit=700)


@FUZZ
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_fuzz_cli_import_is_one_sentence_or_a_clean_import(name: str, data: st.DataObject) -> None:
    suffix, valid, mapping = SOURCES[name]
    content = data.draw(damaged(valid))
    args = ["--platform", "forum", "--id-col", "post_id", "--text-col", "body", "--time-col", "when",
            "--tags-col", "tags"] if mapping else []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"crawl{suffix}"
        path.write_bytes(content)
        db = Path(tmp) / "q.db"
        result = CliRunner().invoke(cli, ["--db", str(db), "import", str(path), *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        store = Store(db)
        try:
            posts, imports = _state(store)
        finally:
            store.close()
        if result.exit_code == 0:
            assert "imported" in result.output
            return
        assert result.exit_code == 1
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and errors[0].endswith("."), result.output
        assert (posts, imports) == (0, 0)
