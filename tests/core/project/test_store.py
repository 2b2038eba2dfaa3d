"""The project database: migrations, posts, the event log and derived state."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tui.core.project import events as E
from tui.core.project import store as S
from tui.core.project.events import Event
from tui.core.project.migrations import migrations
from tui.core.project.state import derive_state
from tui.core.project.store import Store, StoreError
from tui.core.project.undo import redo_target, undo_target


def _post(store: Store, pid: str = "n1") -> int:
    with store.db.conn:
        cur = store.db.conn.execute(
            "INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
            " VALUES ('xhs', ?, ?, '', 'x', 'h')",
            (pid, Store.new_label(store.existing_labels())),
        )
    assert cur.lastrowid is not None
    return cur.lastrowid


def test_new_project_is_wal_with_migrations(tmp_path: Path) -> None:
    s = Store(tmp_path / "a.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in s.db.execute("SELECT version FROM migrations")] == [m.version for m in migrations()]
    pid = s.meta("project_id")
    s.close()
    again = Store(tmp_path / "a.db")  # reopening applies nothing twice and keeps the project id
    assert again.meta("project_id") == pid
    assert again.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(migrations())


def test_refuses_directory_and_non_sqlite(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a qualtui project"):
        Store(junk)
    with pytest.raises(StoreError, match="No project"):
        Store(tmp_path / "missing.db", create=False)


def test_labels_are_pseudonymous_unique_and_grow() -> None:
    taken: set[str] = set()
    labels = [Store.new_label(taken) for _ in range(3000)]
    assert len(set(labels)) == 3000
    assert all(lbl.startswith("P-") and len(lbl) == 5 for lbl in labels)
    big = {f"P-{i}" for i in range(60000)}  # over a quarter of the three-character space
    assert len(Store.new_label(big)) == 6


def test_record_commits_before_returning(store: Store) -> None:
    pid = _post(store)
    ev = store.record(Event(coder="alice", post_id=pid, kind=E.CODE_ADD, code_id="control/drugs"))
    other = sqlite3.connect(store.path)  # a second connection sees it: it is on disk
    assert other.execute("SELECT code_id FROM events WHERE id = ?", (ev.id,)).fetchone() == ("control/drugs",)
    with pytest.raises(StoreError, match="Unknown event kind"):
        store.record(Event(coder="alice", post_id=pid, kind="bogus"))


def test_state_undo_redo_and_order_independence(store: Store) -> None:
    pid = _post(store)
    add = store.record(Event("a", pid, E.CODE_ADD, code_id="c1"))
    store.record(Event("a", pid, E.CODE_ADD, code_id="c2"))
    store.record(Event("a", pid, E.MEMO, value="first"))
    memo2 = store.record(Event("a", pid, E.MEMO, value="second"))
    assert set(store.state("a", pid).codes) == {"c1", "c2"}
    assert (undo_target(store.db.conn, "a") or {}).get("id") == memo2.id
    store.record(Event("a", pid, E.UNDO, ref=memo2.id))
    assert store.state("a", pid).memo == "first"
    assert (redo_target(store.db.conn, "a") or {}).get("id") == memo2.id
    store.record(Event("a", pid, E.REDO, ref=memo2.id))
    assert store.state("a", pid).memo == "second"
    assert redo_target(store.db.conn, "a") is None
    store.record(Event("a", pid, E.UNDO, ref=add.id))
    st = store.state("a", pid)
    assert set(st.codes) == {"c2"}
    rows = store.events(coder="a", post_id=pid)
    assert derive_state(reversed(rows)).codes.keys() == st.codes.keys()
    assert store.state("b", pid).codes == {}


def test_relevance_zero_finishes_post(store: Store) -> None:
    p1, p2 = _post(store, "a"), _post(store, "b")
    store.record(Event("a", p1, E.RELEVANCE, value="0"))
    store.record(Event("a", p2, E.RELEVANCE, value="1"))
    assert store.finished_posts("a") == {p1}
    store.record(Event("a", p2, E.DONE, value="1"))
    assert store.finished_posts("a") == {p1, p2}


def test_quotes_and_removal(store: Store) -> None:
    pid = _post(store)
    q = store.record(Event("a", pid, E.QUOTE_ADD, code_id="c1", value='{"start": 0, "end": 4, "text": "abcd"}'))
    assert [x.text for x in store.state("a", pid).quotes] == ["abcd"]
    store.record(Event("a", pid, E.QUOTE_REMOVE, ref=q.id))
    assert store.state("a", pid).quotes == []


def test_pseudonym_is_salted_and_stable(store: Store, tmp_path: Path) -> None:
    a = store.pseudonym("user-123")
    assert a == store.pseudonym("user-123") and a.startswith("A-") and "123" not in a
    other = Store(tmp_path / "other.db")
    assert other.pseudonym("user-123") != a


# ---------------------------------------------------------------- SQLite's own errors, in one sentence


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _closed_project(path: Path, posts: int = 1) -> None:
    """A project on disk with `posts` posts, checkpointed so the main file holds everything."""
    s = Store(path)
    for i in range(posts):
        _post(s, f"n{i}")
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()


def _lock(path: Path) -> sqlite3.Connection:
    """A second connection holding the write lock, as another qualtui command would."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


def test_busy_write_waits_then_refuses_in_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    _closed_project(db)
    store = Store(db, busy_timeout=0.3)
    pid = store.post_ids()[0]
    other = _lock(db)
    started = time.monotonic()
    with pytest.raises(S.WriteRefused) as caught:
        store.record(Event(coder="alice", post_id=pid, kind=E.RELEVANCE, value="1"))
    assert time.monotonic() - started >= 0.25  # it waited for the other writer before giving up
    assert caught.value.kind == "busy"
    assert str(caught.value) == (f"The project {db} is busy: another qualtui command is writing to it; "
                                 "try again when it finishes.")
    assert not store.db.conn.in_transaction
    other.execute("ROLLBACK")
    assert store.events() == []  # nothing half-written
    store.record(Event(coder="alice", post_id=pid, kind=E.RELEVANCE, value="1"))  # released: saved
    assert store.state("alice", pid).relevance == 1


def test_full_disk_on_write_is_one_sentence_and_nothing_written(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    store = Store(db)
    pid = _post(store)
    # SQLite's own limit on the file's size gives the error a full disk gives (SQLITE_FULL).
    store.db.execute(f"PRAGMA max_page_count = {store.db.execute('PRAGMA page_count').fetchone()[0]}")
    events = [Event(coder="alice", post_id=pid, kind=E.MEMO, value="x" * 2000) for _ in range(200)]
    with pytest.raises(S.WriteRefused) as caught:
        store.record_many(events)
    assert caught.value.kind == "full"
    assert str(caught.value) == f"The disk is full: nothing was written to {db}."
    assert store.events() == []


def test_full_disk_during_import_rolls_back_cleanly(tmp_path: Path) -> None:
    from tests.samples import SAMPLE
    from tui.core.project.ingest import import_file

    db = tmp_path / "q.db"
    store = Store(db)
    pid = _post(store)
    store.db.execute(f"PRAGMA max_page_count = {store.db.execute('PRAGMA page_count').fetchone()[0] + 2}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        import_file(store, SAMPLE)
    # The full disk itself, not "cannot rollback - no transaction is active" chained on it.
    assert S.db_error_kind(caught.value) == "full"
    assert S.describe_db_error(caught.value, db) == f"The disk is full: nothing was written to {db}."
    assert not store.db.conn.in_transaction
    assert store.post_ids() == [pid]
    assert store.db.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_project_not_writable_opens_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "q.db"
    _closed_project(db)
    before = db.read_bytes()
    real_access = os.access

    def no_write(path: str, mode: int) -> bool:
        # What a chmod 0444 file reports to a user who is not root (root ignores file modes).
        if mode & os.W_OK and Path(path) == db:
            return False
        return real_access(path, mode)

    monkeypatch.setattr(os, "access", no_write)
    store = Store(db)
    assert store.readonly
    pid = store.post_ids()[0]
    assert store.post(pid) is not None  # browsing works
    with pytest.raises(S.WriteRefused) as caught:
        store.record(Event(coder="alice", post_id=pid, kind=E.RELEVANCE, value="1"))
    assert caught.value.kind == "readonly"
    assert str(caught.value) == f"The project {db} is read-only: nothing was written."
    # A write that goes round Store.write is refused by SQLite itself (the connection is mode=ro).
    with pytest.raises(sqlite3.OperationalError) as raw:
        store.db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    assert S.describe_db_error(raw.value, db) == f"The project {db} is read-only: nothing was written."
    store.close()
    assert db.read_bytes() == before


def test_read_only_store_explicitly(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    _closed_project(db, posts=3)
    before = db.read_bytes()
    with Store(db, readonly=True) as store:
        assert len(store.posts()) == 3
        with pytest.raises(S.WriteRefused, match="read-only: nothing was written"):
            store.set_queue("alice", store.post_ids())
    assert db.read_bytes() == before
    with pytest.raises(StoreError, match="No project"):
        Store(tmp_path / "missing.db", readonly=True)


def test_another_programs_database_is_refused_before_any_write(tmp_path: Path) -> None:
    other = tmp_path / "notes.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE foo (x)")
    conn.execute("INSERT INTO foo VALUES (1)")
    conn.commit()
    conn.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError) as caught:
        Store(other)
    assert str(caught.value) == f"{other} is an SQLite database but not a qualtui project; nothing was changed."
    assert _files(tmp_path) == before  # not a byte changed, no -wal or -shm left


def test_non_sqlite_file_is_refused_unchanged(tmp_path: Path) -> None:
    for name, data in (("notes.txt", b"field notes\n" * 50), ("tiny.db", b"x"), ("big.db", b"\x00" * 8192)):
        path = tmp_path / name
        path.write_bytes(data)
        before = _files(tmp_path)
        with pytest.raises(StoreError) as caught:
            Store(path)
        assert str(caught.value) == (f"{path} is not a qualtui project (it is not an SQLite database); "
                                     "nothing was changed.")
        assert _files(tmp_path) == before


def test_describe_db_error_names_each_kind() -> None:
    cases = {
        "database is locked": "The project q.db is busy: another qualtui command is writing to it; "
                              "try again when it finishes.",
        "attempt to write a readonly database": "The project q.db is read-only: nothing was written.",
        "database or disk is full": "The disk is full: nothing was written to q.db.",
        "disk I/O error": "The disk reported an error while writing q.db: nothing was written; "
                          "check the disk and try again.",
    }
    for raw, sentence in cases.items():
        assert S.describe_db_error(sqlite3.OperationalError(raw), "q.db") == sentence
    assert S.describe_db_error(sqlite3.IntegrityError("UNIQUE constraint failed: events.id"), "q.db") is None
    assert S.describe_db_error(ValueError("database is locked"), "q.db") is None


def test_wellbeing_log_kept_when_the_project_is_busy(tmp_path: Path) -> None:
    from tui.core.wellbeing import storage as wellbeing_store
    from tui.core.wellbeing.policy import Wellbeing

    db = tmp_path / "q.db"
    _closed_project(db)
    store = Store(db, busy_timeout=0.1)
    machines = {"alice": Wellbeing(), "bob": Wellbeing()}
    t = 1_790_000_000.0
    for wb in machines.values():  # the same two minutes of reading for both coders
        wb.session_started(t)
        wb.post_shown(t, 1, 1.0, masked=False)
        wb.post_left(t + 120)
    wellbeing_store.save(store, "bob", machines["bob"])
    other = _lock(db)
    with pytest.raises(sqlite3.OperationalError):
        wellbeing_store.save(store, "alice", machines["alice"])
    other.execute("ROLLBACK")
    wellbeing_store.save(store, "alice", machines["alice"])  # writes what the failed save had drained
    logged = dict(store.db.execute("SELECT coder, count(*) FROM wb_log GROUP BY coder").fetchall())
    assert logged["alice"] == logged["bob"] > 0


def test_patience_shortens_the_wait_for_background_saves(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    _closed_project(db)
    store = Store(db, busy_timeout=5.0)
    other = _lock(db)
    started = time.monotonic()
    with pytest.raises(S.WriteRefused, match="busy"), store.patience(0.1):
        store.set_project_setting("k", "v")
    assert time.monotonic() - started < 2.0  # not the five seconds a decision would wait
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000  # restored afterwards
    other.execute("ROLLBACK")
