"""The anchoring report's data: which decisions count, per coder and pooled, and its cells made safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.samples import HOSTILE
from tests.sync_helpers import CB, pid, project
from tui.core.project.events import RELEVANCE, Event
from tui.core.report.anchoring import anchoring, anchoring_tables
from tui.core.report.data import ReportError
from tui.core.report.writers import to_csv, to_markdown


def _decide(store: object, coder: str, arms: dict[int, str]) -> None:
    for i, arm in arms.items():
        store.record(Event(coder, pid(store, i), RELEVANCE, value=str(i % 2), arm=arm))  # type: ignore[attr-defined]


def test_only_decisions_with_one_recorded_arm_count(tmp_path: Path) -> None:
    store = project(tmp_path, "p")
    with store.db.conn:
        for i in range(12):
            store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score)"
                                  " VALUES (?, 'relevance', '', ?)", (pid(store, i), 0.9 if i % 2 else 0.1))
    with pytest.raises(ReportError, match="No post has been coded yet"):
        anchoring(store, CB)
    _decide(store, "alice", {0: "", 1: ""})  # before arms were recorded
    with pytest.raises(ReportError, match=r"No decision has a recorded arm yet: .* \(2\)"):
        anchoring(store, CB)
    _decide(store, "alice", {2: "blind", 3: "blind", 4: "shown", 5: "shown", 6: "shown"})
    store.record(Event("alice", pid(store, 6), "memo", value="m", arm="blind"))  # one post seen in both arms
    a = anchoring(store, CB)
    assert a.left_out == 3
    rows = {(f.who, f.arm): f for f in a.figures}
    assert (rows[("alice", "blind")].posts, rows[("alice", "shown")].posts) == (2, 2)
    assert rows[("alice", "blind")].agreement == 1.0 and rows[("alice", "blind")].relevance_rate == 0.5
    assert rows[("all coders", "blind")].posts == 2
    assert a.pairs == []
    assert a.sentence.startswith("On 2 blind and 2 shown decisions the coders agreed with the model's screen on "
                                 "100% and 100% (+0 points, p = 1)")
    assert "no rise in agreement could be detected at all" in a.sentence


def test_coder_names_from_merged_files_reach_no_output_unclean(tmp_path: Path) -> None:
    store = project(tmp_path, "p")
    for n, name in enumerate(HOSTILE[:2] + HOSTILE[5:7] + ["=cmd|' /C calc'!A0"]):
        _decide(store, name, {n: "blind", n + 4: "shown"})
    tables = anchoring_tables(anchoring(store, CB))
    for t in tables:
        for out in (to_markdown([t]), to_csv(t)):
            assert "\x1b" not in out and "\n=cmd" not in out
