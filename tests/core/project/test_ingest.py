"""Importing posts: MediaCrawler shapes, generic mappings, filters, duplicates and bad files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.samples import HOSTILE, xhs_note
from tui.core.files import MAX_LINE_BYTES
from tui.core.project.ingest import Filters, ImportError_, Mapping, import_file, parse_tags, parse_time
from tui.core.project.readers import read_json_array
from tui.core.project.store import Store


def _count(store: Store) -> int:
    return store.count_posts()


def test_json_array_import_and_reimport_changes_nothing(store: Store, notes_file: Path) -> None:
    report = import_file(store, notes_file)
    assert (report.read, report.imported, report.duplicates) == (5, 5, 0)
    post = store.posts()[0]
    assert post["platform"] == "xhs" and post["label"].startswith("P-")
    assert post["tags"] == ["缅北", "电诈"]
    assert post["posted_at"].endswith("Z") and post["author"].startswith("A-")
    before = store.db.execute("SELECT * FROM posts ORDER BY id").fetchall()
    n_imports = store.db.execute("SELECT count(*) FROM imports").fetchone()[0]
    again = import_file(store, notes_file)
    assert (again.imported, again.duplicates) == (0, 5)
    assert store.db.execute("SELECT * FROM posts ORDER BY id").fetchall() == before
    assert store.db.execute("SELECT count(*) FROM imports").fetchone()[0] == n_imports


def test_nickname_and_user_id_never_stored(store: Store, tmp_path: Path) -> None:
    old = xhs_note(1, user_id="5f0e-real-user", nickname="RealName")
    del old["creator_hash"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps([old]), encoding="utf-8")
    import_file(store, path)
    dump = "\n".join(str(r) for r in store.db.execute("SELECT * FROM posts"))
    assert "RealName" not in dump and "5f0e-real-user" not in dump
    assert store.posts()[0]["author"].startswith("A-")


def test_jsonl_with_truncated_line_imports_the_rest(store: Store, tmp_path: Path) -> None:
    lines = [json.dumps(xhs_note(i)) for i in range(4)]
    lines[2] = lines[2][:40]  # cut off mid-object, as a crash leaves it
    path = tmp_path / "search_contents.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(store, path)
    assert report.imported == 3
    assert report.rejected[0][0] == 3 and "line 3" in report.rejected[0][1]


def test_csv_with_bom_crlf_and_multiline_desc(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "1_search_contents_2026-11-22.csv"
    buf = io.StringIO()
    notes = [xhs_note(i, desc=f"line one\nline two {i}") for i in range(3)]
    w = csv.DictWriter(buf, fieldnames=list(notes[0]), lineterminator="\r\n")
    w.writeheader()
    w.writerows(notes)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    report = import_file(store, path)
    assert report.imported == 3
    assert store.posts()[0]["text"].startswith("line one\nline two")


def test_generic_csv_mapping(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "forum.csv"
    path.write_text("post_id,body,when\n1,hello world,2024-05-01T10:00:00+08:00\n2,second,\n", encoding="utf-8")
    m = Mapping(platform="forum", id_col="post_id", text_col="body", title_col=None, time_col="when",
                tags_col=None, url_col=None, author_col=None, keyword_col=None)
    assert import_file(store, path, mapping=m).imported == 2
    assert store.posts(order="platform_id")[0]["posted_at"] == "2024-05-01T02:00:00Z"


def test_csv_without_mapped_column_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "forum.csv"
    path.write_text("post_id,content\n1,hello\n", encoding="utf-8")
    m = Mapping(platform="forum", id_col="post_id", text_col="body")
    with pytest.raises(ImportError_, match="no column 'body'.*--text-col"):
        import_file(store, path, mapping=m)
    assert _count(store) == 0
    assert store.db.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_comments_file_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "search_comments_2026-11-22.json"
    path.write_text(json.dumps([{"comment_id": "1", "create_time": 1, "note_id": "n", "content": "hi",
                                 "parent_comment_id": "0"}]), encoding="utf-8")
    with pytest.raises(ImportError_, match="comments file"):
        import_file(store, path)
    assert _count(store) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"[{\"note_id\": \"a\", \"desc\": \"x\"}, {\"note_id\": ", "malformed JSON in record 2|cut off"),
        (b"[{\"note_id\": \"a\", \"desc\": \"x\"} {\"x\": 1}]", "malformed JSON after record 1"),
        ("[{\"note_id\": \"a\", \"desc\": \"缅北\"}]".encode("gbk"), "not UTF-8"),
        (b"\x00\x00\x00binary", "not a text file"),
        (b"[]", "holds no posts"),
    ],
)
def test_bad_files_write_nothing(store: Store, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message):
        import_file(store, path)
    assert _count(store) == 0


def test_directory_and_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="is a folder"):
        import_file(store, tmp_path)
    with pytest.raises(ImportError_, match="(?i)no such file"):
        import_file(store, tmp_path / "nope.json")


def test_huge_sparse_file_is_refused_quickly(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(1 << 30)  # 1 GB of NUL bytes, sparse on disk
    with pytest.raises(ImportError_, match="not a text file"):
        import_file(store, path)
    assert _count(store) == 0


def test_json_array_is_streamed() -> None:
    class Endless(io.StringIO):
        """A 'file' of a million records that counts what was read."""

        def __init__(self) -> None:
            super().__init__()
            self.reads = 0
            self.first = True

        def read(self, n: int | None = -1) -> str:
            self.reads += 1
            if self.first:
                self.first = False
                return "[" + ",".join(json.dumps(xhs_note(i)) for i in range(200)) + ","
            return ",".join(json.dumps(xhs_note(i)) for i in range(200)) + ","

    fh = Endless()
    records = read_json_array(fh, lambda n: None)
    first = [next(records) for _ in range(300)]
    assert first[-1][0] == 300 and fh.reads <= 3


def _peak_import(tmp_path: Path, n: int) -> tuple[int, int]:
    path = tmp_path / f"big{n}.json"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for i in range(n):
            fh.write(("," if i else "") + json.dumps(xhs_note(i, desc="长文 " * 200), ensure_ascii=False))
        fh.write("]")
    s = Store(tmp_path / f"p{n}.db")
    tracemalloc.start()
    report = import_file(s, path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    s.close()
    assert report.imported == n
    return peak, path.stat().st_size


def test_streaming_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, _ = _peak_import(tmp_path, 6000)
    large, _ = _peak_import(tmp_path, 24000)
    assert large < small * 1.6, f"peak {large} for 4x the posts vs {small}"


def test_hostile_text_is_stored_as_given(store: Store, tmp_path: Path) -> None:
    notes = [xhs_note(i, title=h, desc=h + " body", tag_list=h) for i, h in enumerate(HOSTILE)]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    import_file(store, path)
    stored = {p["title"] for p in store.posts()}
    assert stored == set(HOSTILE)


def test_filters_follow_the_study_logic(store: Store, tmp_path: Path) -> None:
    notes = [
        xhs_note(1, desc="被骗去缅北", tag_list="缅北"),
        xhs_note(2, desc="KK园区 电诈", tag_list="电影"),
        xhs_note(3, desc="美食分享", tag_list="美食"),
        xhs_note(4, desc="缅北 旅游", tag_list="旅游"),
    ]
    path = tmp_path / "f.json"
    path.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    f = Filters(include=("缅北", "KK园区"), exclude_tags=("电影", "旅游"))
    report = import_file(store, path, filters=f)
    assert (report.imported, report.filtered) == (1, 3)


def test_duplicates_within_a_file_are_counted(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([xhs_note(1), xhs_note(1), xhs_note(2)]), encoding="utf-8")
    report = import_file(store, path)
    assert (report.imported, report.duplicates) == (2, 1)


def test_records_without_id_or_text_are_rejected_with_reason(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([xhs_note(1, note_id=""), xhs_note(2, desc="", title=""), xhs_note(3)]))
    report = import_file(store, path)
    assert report.imported == 1
    assert [n for n, _ in report.rejected] == [1, 2]
    assert "no text" in report.rejected[1][1]


def test_parse_helpers() -> None:
    assert parse_time(1700000000000) == parse_time(1700000000) == "2023-11-14T22:13:20Z"
    assert parse_time("None") is None and parse_time("garbage") is None
    assert parse_tags("a,b，c", "text #缅北[话题]# more") == ["a", "b", "c", "缅北"]
    assert parse_tags('["x", "y"]') == ["x", "y"]


# ---------------------------------------------------------------- bounded reads and late refusals


def _state(store: Store) -> tuple[list[Any], list[Any]]:
    return (store.db.execute("SELECT * FROM posts ORDER BY id").fetchall(),
            store.db.execute("SELECT * FROM imports ORDER BY id").fetchall())


def _notes(start: int, n: int) -> bytes:
    return json.dumps([xhs_note(i) for i in range(start, start + n)], ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(("bom", "sep", "tail"), [
    (b"", b"", None),  # cat a.json b.json > all.json
    (b"", b"\n", None),
    (b"\xef\xbb\xbf", b"\n", None),
    (b"", b"\n  ", b"garbage"),
    (b"", b"", b"]"),
])
def test_data_after_the_array_is_refused_with_its_offset(store: Store, tmp_path: Path, bom: bytes, sep: bytes,
                                                         tail: bytes | None) -> None:
    first = bom + _notes(0, 3)
    path = tmp_path / "all.json"
    path.write_bytes(first + sep + (_notes(3, 3) if tail is None else tail))
    offset = len(first) + len(sep.rstrip(b"\n ")) + len(sep) - len(sep.rstrip(b"\n "))
    with pytest.raises(ImportError_) as err:
        import_file(store, path)
    assert str(err.value) == f"all.json: unexpected data after the JSON array at byte {offset}; nothing was imported."
    assert _state(store) == ([], [])


def test_whitespace_after_the_array_is_fine(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(_notes(0, 3) + b"\r\n\n  \t\n")
    assert import_file(store, path).imported == 3


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_refusal_at_the_end_of_a_long_file_leaves_the_project_as_it_was(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    before_file = tmp_path / "before.json"
    before_file.write_bytes(_notes(1000, 4))
    import_file(store, before_file)
    before = _state(store)
    assert len(before[0]) == 4 and len(before[1]) == 1
    monkeypatch.setattr("tui.core.project.readers.MAX_LINE_BYTES", 64 * 1024, raising=False)
    path = tmp_path / f"late.{kind}"
    if kind == "json":
        path.write_bytes(_notes(0, 50) + b"\n" + _notes(50, 50))
        match = "unexpected data after the JSON array"
    else:
        lines = [json.dumps(xhs_note(i)).encode() for i in range(100)]
        path.write_bytes(b"\n".join(lines) + b"\n" + b"x" * (100 * 1024) + b"\n")
        match = "line 101 is longer than the 64 KiB limit for one line"
    with pytest.raises(ImportError_, match=match):
        import_file(store, path, batch=10)  # several batches are flushed before the refusal
    assert _state(store) == before


def _write_huge(path: Path, head: bytes, middle: bytes, size: int, tail: bytes) -> None:
    """`head`, then `middle` repeated to `size` bytes, then `tail`, without holding it in memory."""
    with open(path, "wb") as fh:
        fh.write(head)
        block = middle * (1 << 20 // len(middle))
        for _ in range(size // len(block)):
            fh.write(block)
        fh.write(tail)


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize(("name", "match"), [
    ("huge.jsonl", "line 6 is longer than the 1.0 MiB limit for one line"),
    ("huge.csv", "line 6 is longer than the 1.0 MiB limit for one line"),
    ("huge.json", "record 6 is longer than the 1.0 MiB limit for one record"),
])
def test_a_huge_line_after_good_data_is_refused_in_bounded_memory(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, match: str) -> None:
    monkeypatch.setattr("tui.core.project.readers.MAX_LINE_BYTES", 1 << 20, raising=False)
    path = tmp_path / name
    notes = [xhs_note(i) for i in range(5)]
    if name.endswith(".jsonl"):
        head = b"".join(json.dumps(n).encode() + b"\n" for n in notes) + b'{"note_id": "x", "desc": "'
        tail = b'"}\n'
    elif name.endswith(".csv"):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(notes[0]))
        w.writeheader()
        w.writerows(notes[:4])
        head = buf.getvalue().encode() + b"x,"
        tail = b"\n"
    else:
        head = _notes(0, 5)[:-1] + b', {"note_id": "x", "desc": "'
        tail = b'"}]'
    _write_huge(path, head, b"a", 20 << 20, tail)  # 20 MB in one line, 20 times the (lowered) limit
    err: list[BaseException] = []

    def run() -> None:
        try:
            import_file(store, path)
        except ImportError_ as exc:
            err.append(exc)

    peak = _peak(run)
    assert err and re.search(match, str(err[0])), err
    assert peak < 12 << 20, f"peak {peak / (1 << 20):.1f} MiB"
    assert _state(store) == ([], [])


def test_a_csv_field_over_the_limit_is_one_sentence(store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Short lines, but one quoted field spanning many of them: the field limit is what refuses it.
    monkeypatch.setattr("tui.core.project.readers.MAX_LINE_BYTES", 4096, raising=False)
    monkeypatch.setattr("tui.core.project.ingest.MAX_RECORD_CHARS", 4096, raising=False)
    path = tmp_path / "long.csv"
    field = "\n".join(["word " * 20] * 60)
    path.write_text(f'note_id,desc\n1,short\n2,"{field}"\n3,short\n', encoding="utf-8")
    with pytest.raises(ImportError_, match=r"^long\.csv: line \d+ has a field longer than the 4 KiB limit"
                                           r" for one field; nothing was imported\.$"):
        import_file(store, path)
    assert _state(store) == ([], [])


def test_the_csv_field_limit_is_the_documented_line_limit(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("note_id,desc\n1," + "x" * 200_000 + "\n", encoding="utf-8")  # over csv's default 128 KiB
    csv.field_size_limit(1000)  # whatever another reader left behind
    assert import_file(store, path).imported == 1
    assert csv.field_size_limit() == MAX_LINE_BYTES


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_read(store: Store, tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "posts.json"
        os.mkfifo(path)
        expected = "is a named pipe"
    elif kind == "device":
        path = Path("/dev/zero")
        expected = "is a device"
    else:
        path = tmp_path / "crawl"
        path.mkdir()
        expected = "is a folder"
    err: list[BaseException] = []

    def run() -> None:
        try:
            import_file(store, path)
        except BaseException as exc:  # noqa: B036 - handed to the test thread
            err.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # the old code blocks opening a FIFO: let it go, then fail
        with open(os.open(path, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        t.join(10)
        pytest.fail("the import blocked on a FIFO")
    assert err and isinstance(err[0], ImportError_) and expected in str(err[0]), err
    assert str(err[0]).endswith(".") and "\n" not in str(err[0])
    assert _state(store) == ([], [])


def test_a_csv_record_spanning_many_lines_is_bounded(store: Store, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Every line and every field is short, but quoted newlines make one record of many fields endless.
    monkeypatch.setattr("tui.core.project.readers.MAX_LINE_BYTES", 4096, raising=False)
    path = tmp_path / "wide.csv"
    fields = ",".join('"' + "x\n" * 1000 + '"' for _ in range(20))
    path.write_text(f"note_id,desc\n1,short\n2,{fields}\n", encoding="utf-8")
    with pytest.raises(ImportError_, match=r"the record ending on line \d+ is longer than the 16 KiB limit"):
        import_file(store, path)
    assert _state(store) == ([], [])


def test_a_lone_surrogate_escape_is_stored_as_a_replacement_character(store: Store, tmp_path: Path) -> None:
    # Valid JSON, but "\ud800" alone is not a character: SQLite cannot store it as UTF-8.
    path = tmp_path / "s.json"
    path.write_text('[{"note_id": "a", "title": "t\\ud800", "desc": "x \\udfff y", "tag_list": ["k\\ud801"],'
                    ' "creator_hash": "\\ud802"}]', encoding="utf-8")
    assert import_file(store, path).imported == 1
    post = store.posts()[0]
    assert (post["title"], post["text"], post["tags"]) == ("t\ufffd", "x \ufffd y", ["k\ufffd"])


def test_deeply_nested_json_is_refused_or_skipped_not_a_crash(store: Store, tmp_path: Path) -> None:
    deep = "[" * 100_000
    tags = tmp_path / "tags.csv"  # a tag column that looks like JSON: split as text
    tags.write_text(f"note_id,desc,tag_list\n1,x,{deep}\n", encoding="utf-8")
    assert import_file(store, tags).imported == 1
    lines = tmp_path / "deep.jsonl"  # a line of JSON Lines: reported and skipped
    lines.write_text(json.dumps(xhs_note(2)) + "\n" + deep + "\n", encoding="utf-8")
    report = import_file(store, lines)
    assert report.imported == 1 and report.rejected == [(2, "line 2: JSON nested too deeply")]
    array = tmp_path / "deep.json"  # a record of an array: the file is refused
    array.write_text(f"[{json.dumps(xhs_note(3))}, {deep}]", encoding="utf-8")
    with pytest.raises(ImportError_, match="record 2 cannot be read .nested too deeply"):
        import_file(store, array)


def test_a_number_cut_by_the_read_buffer_is_read_whole(store: Store, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.core.project.readers.CHUNK", 16)
    head = '[{"note_id": "a", "desc": "x"}, 12345678901234567890'
    path = tmp_path / "n.json"
    path.write_bytes((head + ", " + json.dumps(xhs_note(2)) + "]").encode())
    report = import_file(store, path)
    assert report.imported == 2 and report.rejected == [(2, "record 2: not an object")]
    bad = tmp_path / "bad.json"  # invalid UTF-8 read while a number is being completed
    bad.write_bytes(b'[{"note_id": "a", "desc": "x"}, 1' + b"2" * 30 + b"\xff]")
    with pytest.raises(ImportError_, match="not UTF-8"):
        import_file(store, bad)
