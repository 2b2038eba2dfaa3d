"""Undo and redo on a real project file: what stands, what undo takes back, what redo puts back."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.project.events import CODE_ADD, DEFER, MEMO, REDO, RELEVANCE, UNDO, Event
from tui.core.project.store import Store
from tui.core.project.undo import active_events, compensating, redo_target, undo_target


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Store]:
    """A project file with three posts (row ids 1, 2, 3)."""
    store = Store(tmp_path / "undo.db")
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', ?, ?, 'x', 'h')",
            [(f"n{i}", f"P-{i}") for i in (1, 2, 3)])
    yield store
    store.close()


def _undo(store: Store, coder: str = "alice") -> str | None:
    """Press undo: record the compensating event; the id of the decision taken back."""
    target = undo_target(store.db.conn, coder)
    if target is None:
        return None
    store.record(compensating(UNDO, target, coder))
    return str(target["id"])


def _redo(store: Store, coder: str = "alice") -> str | None:
    """Press redo: the id of the decision put back."""
    target = redo_target(store.db.conn, coder)
    if target is None:
        return None
    store.record(compensating(REDO, target, coder))
    return str(target["id"])


def _next_undo(store: Store, coder: str = "alice") -> str | None:
    target = undo_target(store.db.conn, coder)
    return None if target is None else str(target["id"])


def test_undo_walks_back_across_posts_newest_first(project: Store) -> None:
    first = project.record(Event("alice", 1, RELEVANCE, value="1"))
    second = project.record(Event("alice", 2, CODE_ADD, code_id="a/b"))
    third = project.record(Event("alice", 3, MEMO, value="why"))
    assert [_undo(project) for _ in range(3)] == [third.id, second.id, first.id]
    assert _undo(project) is None  # nothing left to take back
    assert project.state("alice", 1).relevance is None
    assert project.state("alice", 2).codes == {}
    assert project.state("alice", 3).memo == ""


def test_redo_puts_back_in_reverse_order_then_stops(project: Store) -> None:
    a = project.record(Event("alice", 1, CODE_ADD, code_id="a/b"))
    b = project.record(Event("alice", 2, CODE_ADD, code_id="c/d"))
    _undo(project)
    _undo(project)
    assert _redo(project) == a.id
    assert _redo(project) == b.id
    assert _redo(project) is None
    assert set(project.state("alice", 1).codes) == {"a/b"} and set(project.state("alice", 2).codes) == {"c/d"}


def test_a_new_decision_clears_redo(project: Store) -> None:
    project.record(Event("alice", 1, MEMO, value="first"))
    _undo(project)
    assert redo_target(project.db.conn, "alice") is not None
    project.record(Event("alice", 2, RELEVANCE, value="0"))
    assert redo_target(project.db.conn, "alice") is None
    assert project.state("alice", 1).memo == ""  # the undone memo stays undone


def test_undo_of_undo_is_redo_and_the_balance_decides(project: Store) -> None:
    memo = project.record(Event("alice", 1, MEMO, value="kept"))
    _undo(project)
    _redo(project)  # the undo taken back
    assert project.state("alice", 1).memo == "kept"
    assert _next_undo(project) == memo.id
    _undo(project)  # and undone again
    assert project.state("alice", 1).memo == ""
    rows = project.events(coder="alice")
    assert [r["kind"] for r in rows] == ["memo", "undo", "redo", "undo"]
    assert active_events(rows) == []


def test_the_fold_does_not_depend_on_row_order(project: Store) -> None:
    # A merge may bring the same events in any order: what stands must not change.
    project.record(Event("alice", 1, CODE_ADD, code_id="a/b"))
    project.record(Event("alice", 1, CODE_ADD, code_id="c/d"))
    _undo(project)
    _redo(project)
    _undo(project)
    rows = project.events(coder="alice")
    expected = [r["id"] for r in active_events(rows)]
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert [r["id"] for r in active_events(shuffled)] == expected


def test_undo_is_per_coder_and_skips_deferrals(project: Store) -> None:
    mine = project.record(Event("alice", 1, RELEVANCE, value="1"))
    project.record(Event("alice", 2, DEFER))  # moving a post to the end is not taken back
    project.record(Event("bob", 1, RELEVANCE, value="0"))
    assert _next_undo(project) == mine.id
    _undo(project, "alice")
    assert project.state("bob", 1).relevance == 0


def test_compensating_refuses_other_kinds(project: Store) -> None:
    ev = project.record(Event("alice", 1, MEMO, value="x"))
    with pytest.raises(ValueError, match="neither undo nor redo"):
        compensating(MEMO, {"id": ev.id, "post_id": 1}, "alice")
