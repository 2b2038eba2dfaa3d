"""Counts of the axial-coding tree: posts per code, the coder's and everyone's, after undo, redo and merges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.coding.code_counts import CodeCount, code_counts, count_codes, read_codings
from tui.core.coding.open_coding import create_code, merge_codes
from tui.core.coding.session import Session
from tui.core.project.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AGE = "targeting/age"
DEBT = "targeting/financial-instability/debt"


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


def _from_states(store: Store, codebook: Codebook, coder: str) -> dict[str, CodeCount]:
    """The slow, obviously right count: every coder's derived state of every post."""
    mine: dict[str, set[int]] = {}
    anyone: dict[str, set[int]] = {}
    for who in store.coders():
        for pid, st in store.states(who).items():
            for c in st.codes:
                cid = codebook.resolve(c) or c
                anyone.setdefault(cid, set()).add(pid)
                if who == coder:
                    mine.setdefault(cid, set()).add(pid)
    return {c: CodeCount(len(mine.get(c, ())), len(p)) for c, p in anyone.items()}


def test_counts_follow_undo_redo_removal_and_other_coders(store: Store, codebook: Codebook) -> None:
    a = Session(store, codebook, "alice")
    a.add_code(AGE)
    a.add_code(DEBT)
    a.next()
    a.add_code(AGE)
    a.remove_code(AGE)
    a.add_code(AGE)
    a.next()
    a.add_code(DEBT)
    a.undo()  # the debt on post 3 taken back
    a.undo()  # the relevance it implied
    a.redo()
    b = Session(store, codebook, "bob")
    b.add_code(AGE)
    b.next()
    b.next()
    b.next()
    b.add_code(AGE)
    counts = code_counts(store, codebook, "alice")
    assert counts == _from_states(store, codebook, "alice")
    assert counts[AGE] == CodeCount(2, 3) and counts[DEBT] == CodeCount(1, 1)


def test_a_merge_counts_the_codings_of_both_codes_once_per_post(store: Store, codebook: Codebook) -> None:
    s = Session(store, codebook, "alice")
    sold = create_code(s, "Sold", definition="d")
    s.add_code(AGE)
    s.next()
    resold = create_code(s, "Resold", definition="d")
    codings = read_codings(store)
    merge_codes(s, resold.id, sold.id)
    counts = count_codes(codings, s.codebook, "alice")  # the same codings, counted under the new codebook
    assert counts[sold.id] == CodeCount(2, 2) and resold.id not in counts
    assert counts == _from_states(store, s.codebook, "alice")
