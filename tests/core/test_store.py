"""The project database: migrations, posts, the event log and derived state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tui.core import store as S
from tui.core.store import Event, Store, StoreError, derive_state


def _post(store: Store, pid: str = "n1") -> int:
    with store.db.conn:
        cur = store.db.conn.execute(
            "INSERT INTO posts (platform, platform_id, label, title, text, text_hash) VALUES ('xhs', ?, ?, '', 'x', 'h')",
            (pid, Store.new_label(store.existing_labels())),
        )
    return cur.lastrowid


def test_new_project_is_wal_with_migrations(tmp_path: Path) -> None:
    s = Store(tmp_path / "a.db")
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in s.db.execute("SELECT version FROM migrations")] == [v for v, _, _ in S.MIGRATIONS]
    pid = s.meta("project_id")
    s.close()
    again = Store(tmp_path / "a.db")  # reopening applies nothing twice and keeps the project id
    assert again.meta("project_id") == pid
    assert again.db.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(S.MIGRATIONS)


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
    ev = store.record(Event(coder="alice", post_id=pid, kind=S.CODE_ADD, code_id="control/drugs"))
    other = sqlite3.connect(store.path)  # a second connection sees it: it is on disk
    assert other.execute("SELECT code_id FROM events WHERE id = ?", (ev.id,)).fetchone() == ("control/drugs",)
    with pytest.raises(StoreError, match="Unknown event kind"):
        store.record(Event(coder="alice", post_id=pid, kind="bogus"))


def test_state_undo_redo_and_order_independence(store: Store) -> None:
    pid = _post(store)
    add = store.record(Event("a", pid, S.CODE_ADD, code_id="c1"))
    store.record(Event("a", pid, S.CODE_ADD, code_id="c2"))
    store.record(Event("a", pid, S.MEMO, value="first"))
    memo2 = store.record(Event("a", pid, S.MEMO, value="second"))
    assert set(store.state("a", pid).codes) == {"c1", "c2"}
    assert store.undo_target("a")["id"] == memo2.id
    store.record(Event("a", pid, S.UNDO, ref=memo2.id))
    assert store.state("a", pid).memo == "first"
    assert store.redo_target("a")["id"] == memo2.id
    store.record(Event("a", pid, S.REDO, ref=memo2.id))
    assert store.state("a", pid).memo == "second"
    assert store.redo_target("a") is None
    store.record(Event("a", pid, S.UNDO, ref=add.id))
    st = store.state("a", pid)
    assert set(st.codes) == {"c2"}
    rows = store.events(coder="a", post_id=pid)
    assert derive_state(reversed(rows)).codes.keys() == st.codes.keys()
    assert store.state("b", pid).codes == {}


def test_relevance_zero_finishes_post(store: Store) -> None:
    p1, p2 = _post(store, "a"), _post(store, "b")
    store.record(Event("a", p1, S.RELEVANCE, value="0"))
    store.record(Event("a", p2, S.RELEVANCE, value="1"))
    assert store.finished_posts("a") == {p1}
    store.record(Event("a", p2, S.DONE, value="1"))
    assert store.finished_posts("a") == {p1, p2}


def test_quotes_and_removal(store: Store) -> None:
    pid = _post(store)
    q = store.record(Event("a", pid, S.QUOTE_ADD, code_id="c1", value='{"start": 0, "end": 4, "text": "abcd"}'))
    assert [x.text for x in store.state("a", pid).quotes] == ["abcd"]
    store.record(Event("a", pid, S.QUOTE_REMOVE, ref=q.id))
    assert store.state("a", pid).quotes == []


def test_pseudonym_is_salted_and_stable(store: Store, tmp_path: Path) -> None:
    a = store.pseudonym("user-123")
    assert a == store.pseudonym("user-123") and a.startswith("A-") and "123" not in a
    other = Store(tmp_path / "other.db")
    assert other.pseudonym("user-123") != a
