"""Open coding from a session: codes created, refined and merged while coding, durable and undoable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.coding.open_coding import create_code, edit_code, merge_codes, move_code, posts_with_code, retire_code
from tui.core.coding.session import Session, SessionError
from tui.core.project.codebook_log import codebook_changes
from tui.core.project.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AGE = "targeting/age"


@pytest.fixture
def codebook() -> Codebook:
    """The small two-category test codebook."""
    return load_codebook(FIXTURES / "small.yaml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A project with four posts."""
    s = Store(tmp_path / "p.db")
    with s.write() as conn:
        conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, text, text_hash) VALUES ('xhs', ?, ?, ?, 'h')",
            [(f"n{i}", f"P-{i}", f"Post {i} one. Post {i} two.") for i in (1, 2, 3, 4)])
    yield s
    s.close()


def test_a_code_created_on_a_post_is_committed_assigned_and_there_after_reopening(store: Store,
                                                                                  codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    node = create_code(s, "Sold on", definition="Resold to another compound.", parent="targeting",
                       aliases=["转卖"])
    assert node.id in s.current.state.codes and s.current.state.relevance == 1
    rows = store.events(coder="alice")
    create = next(r for r in rows if r["kind"] == "code_create")
    assert create["post_id"] == s.current.post["id"] and create["code_id"] == node.id
    again = Session(store, codebook, "alice")  # a new process: the file plus the log
    assert again.codebook.node(node.id).aliases == ("转卖",)
    assert again.codebook.keys(node.id) == s.codebook.keys(node.id) == "1s"


def test_a_draft_definition_holds_the_post_open_until_written(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    node = create_code(s, "Sold on", parent="targeting")
    with pytest.raises(SessionError, match="'Sold on' has no definition yet; write one before this post is done."):
        s.set_done()
    assert not store.state("alice", s.current.post["id"]).done
    edit_code(s, node.id, definition="Resold.")
    s.set_done()
    assert store.state("alice", s.current.post["id"]).done


def test_undo_takes_back_the_assignment_then_the_code(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    node = create_code(s, "Sold on", definition="d", parent="targeting")
    s.undo()
    assert node.id not in s.current.state.codes and s.codebook.node(node.id) is not None
    s.undo()  # the relevance the assignment implied
    assert s.current.state.relevance is None and s.codebook.node(node.id) is not None
    s.undo()
    assert s.codebook.node(node.id) is None
    s.redo()
    assert s.codebook.node(node.id) is not None
    assert Session(store, codebook, "alice").codebook.node(node.id) is not None


def test_merging_makes_the_codings_count_for_the_code_kept(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    a = create_code(s, "Sold", definition="d", parent="")
    s.next()
    b = create_code(s, "Resold", definition="d", parent="")
    merge_codes(s, b.id, a.id)
    assert s.codebook.resolve(b.id) == a.id
    assert posts_with_code(s, a.id) == [1, 2]  # the split queue: every post carrying it, in order


def test_a_refused_change_writes_nothing(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    before = store.events()
    with pytest.raises(SessionError, match="cannot be merged into itself"):
        merge_codes(s, AGE, AGE)
    with pytest.raises(SessionError, match="A code needs a name."):
        create_code(s, "   ")
    assert store.events() == before


def test_changes_made_on_no_post_are_kept_and_undone(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    cat = create_code(s, "Aftermath", category=True, on_post=False)
    code = create_code(s, "Trauma", definition="d", parent=cat.id, assign=False, on_post=False)
    move_code(s, code.id, "", on_post=False)
    retire_code(s, cat.id, on_post=False)
    assert [r["post_id"] for r in store.events() if r["kind"].startswith("code_")] == [None] * 4
    assert s.codebook.is_retired(cat.id)
    assert len(codebook_changes(store.db.conn)) == 4
    s.undo()
    assert not s.codebook.is_retired(cat.id)
    assert s.current.post["id"] == 1  # the post on screen stays
    assert store.states("alice") == {}  # no post was decided
