"""`codebook write` and `codebook history` on a real project: recorded once, refused when the file moved on."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.codebook.loading import load_codebook
from tui.core.codebook.yaml_write import same_codebook
from tui.core.coding.open_coding import create_code, edit_code, merge_codes, move_code, retire_code
from tui.core.coding.session import Session
from tui.core.paths import bundled_codebook
from tui.core.project.codebook_log import WRITTEN_KEY, effective_codebook, with_project_changes
from tui.core.project.codebook_write import FILE_KEY, WriteBackRefused, codebook_history, write_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store

AUTHORITY, FAMILY = "targeting/overtrust/authority", "targeting/overtrust/family-relation"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A copy of the study codebook the team owns."""
    path = tmp_path / "codebook.yaml"
    shutil.copyfile(bundled_codebook(), path)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A project with three posts."""
    s = Store(tmp_path / "p.db")
    with s.write() as conn:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', ?, ?, ?, 'h')",
            [(f"n{i}", f"P-{i}", f"Post {i} one. Post {i} two.") for i in (1, 2, 3)])
    yield s
    s.close()


def _clock(times: list[str]):  # noqa: ANN202 - a tiny fake clock
    from datetime import datetime

    it = iter(times)
    return lambda: datetime.fromisoformat(next(it))


def coded(store: Store, book: Path) -> Session:
    """alice codes two posts, creating, renaming, moving, merging and retiring codes as she goes."""
    times = [f"2025-01-01T10:00:{i:02d}+00:00" for i in range(60)]
    s = Session(store, load_codebook(book), "alice", clock=_clock(times))
    s.add_code(AUTHORITY)
    sold = create_code(s, "Sold on", definition="Resold to another compound.", parent="targeting")
    s.next()
    edit_code(s, "targeting/overtrust", name="Overtrust")
    move_code(s, "approaches/travel", "targeting")
    merge_codes(s, AUTHORITY, FAMILY)
    retire_code(s, "targeting/lack-of-awareness/legal", on_post=False)
    assert s.codebook.keys(sold.id) == "1s"
    return s


def test_write_folds_the_changes_in_once_and_the_project_sees_the_same_codebook(store: Store, book: Path) -> None:
    s = coded(store, book)
    before = s.codebook
    result = write_codebook(store, book)
    assert (result.written, result.skipped, result.recorded) == (5, 0, True)
    assert len(store.project_setting(WRITTEN_KEY).split()) == 5
    assert store.project_setting(FILE_KEY) == load_codebook(book).hash
    after, applied = effective_codebook(store.db.conn, load_codebook(book))
    assert applied == [] and same_codebook(after, before) is None  # nothing applied twice
    again = write_codebook(store, book)
    assert (again.written, again.skipped) == (0, 0)


def test_a_third_project_loading_the_written_file_has_every_coding_intact(store: Store, book: Path,
                                                                          tmp_path: Path) -> None:
    coded(store, book)
    write_codebook(store, book)
    Store(tmp_path / "third.db").close()
    cb = with_project_changes(tmp_path / "third.db", load_codebook(book))  # no change events at all
    codes = {c for st in store.states("alice").values() for c in st.codes}
    assert codes == {AUTHORITY, cb.resolve("sold-on") or next(c for c in codes if c.startswith("sold-on-"))}
    for code in codes:
        assert cb.node(code) is not None and not cb.is_retired(cb.resolve(code) or "")
    assert cb.resolve(AUTHORITY) == FAMILY  # a coding of the merged code lands on the code kept


def test_write_refuses_a_file_edited_by_hand_since_the_changes_and_writes_nothing(store: Store, book: Path) -> None:
    coded(store, book)
    hand = book.read_text(encoding="utf-8").replace("name: Debt\n", "name: Debts\n")
    book.write_text(hand, encoding="utf-8")
    with pytest.raises(WriteBackRefused, match=r"codebook\.yaml changed on disk since this project's codebook changes "
                                               r"were made against it; check it, then run `qualtui codebook write "
                                               r"--force` to fold them into it anyway\.$"):
        write_codebook(store, book)
    assert book.read_text(encoding="utf-8") == hand and store.project_setting(WRITTEN_KEY) is None
    write_codebook(store, book, force=True)
    assert "name: Debts\n" in book.read_text(encoding="utf-8")  # the hand edit is kept
    assert "name: Overtrust\n" in book.read_text(encoding="utf-8")


def test_write_to_another_path_leaves_the_project_counting_the_changes_as_unwritten(store: Store, book: Path,
                                                                                     tmp_path: Path) -> None:
    coded(store, book)
    original = book.read_bytes()
    result = write_codebook(store, book, to=tmp_path / "copy.yaml")
    assert result.recorded is False and book.read_bytes() == original
    assert store.project_setting(WRITTEN_KEY) is None
    assert "name: Overtrust\n" in (tmp_path / "copy.yaml").read_text(encoding="utf-8")


def test_write_refuses_a_symlink_target_and_writes_nothing(store: Store, book: Path, tmp_path: Path) -> None:
    coded(store, book)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.yaml"
    os.symlink(victim, link)
    with pytest.raises(WriteBackRefused, match=r"link\.yaml is a symbolic link; write the codebook to a regular file "
                                               r"or a new path\.$"):
        write_codebook(store, book, to=link)
    assert victim.read_text(encoding="utf-8") == "keep me" and store.project_setting(WRITTEN_KEY) is None


def test_history_lists_every_change_with_its_post_and_keeps_it_after_the_write(store: Store, book: Path) -> None:
    coded(store, book)
    store.record(Event("bob", None, "code_edit", code_id="no-such-code", value='{"name": "X"}',
                       at="2025-01-01T10:00:59.000Z"))
    rows = codebook_history(store.db.conn, load_codebook(book))
    assert [(r.coder, r.post, r.kind, r.summary, r.problem) for r in rows] == [
        ("alice", "P-1", "code_create", "created 'Sold on' under 'Recruitment — Targeting', key 's'", ""),
        ("alice", "P-2", "code_edit", "renamed 'Over-reliance and overtrust' to 'Overtrust'", ""),
        ("alice", "P-2", "code_move", "moved 'Travel' under 'Recruitment — Targeting', key 'r'", ""),
        ("alice", "P-2", "code_merge", "merged 'Authority' into 'Family and personal relation'", ""),
        ("alice", "", "code_retire", "retired 'Lack of legal awareness'", ""),
        ("bob", "", "code_edit", "skipped", "There is no code 'no-such-code' in the codebook."),
    ]
    write_codebook(store, book)
    after = codebook_history(store.db.conn, load_codebook(book))
    assert [(r.summary, r.problem, r.written) for r in after] == [(r.summary, r.problem, True) for r in rows]
    assert [r.kind for r in codebook_history(store.db.conn, load_codebook(book), AUTHORITY)] == ["code_merge"]
    assert [r.kind for r in codebook_history(store.db.conn, load_codebook(book), FAMILY)] == ["code_merge"]


def test_write_refuses_a_result_it_cannot_write_and_writes_nothing(store: Store, book: Path) -> None:
    s = Session(store, load_codebook(book), "alice")
    create_code(s, "Half made", parent="targeting")  # its definition is still a draft
    before = book.read_bytes()
    with pytest.raises(WriteBackRefused, match=r"^'Half made' has no definition yet; write one before writing the "
                                               r"codebook\.$"):
        write_codebook(store, book)
    assert book.read_bytes() == before and store.project_setting(WRITTEN_KEY) is None
    assert store.project_setting(FILE_KEY) == load_codebook(book).hash  # only what the session noted
