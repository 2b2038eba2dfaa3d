"""A decision the project cannot take (busy, read-only) is told plainly and never shown as done."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp

SIZE = (120, 40)
CONFIG = Config(wellbeing={"checkins": False})


def _notes(app: QualtuiApp) -> list[tuple[str, str, bool]]:
    return [(n.message, n.severity, n.markup) for n in app._notifications]


def _relevance(project: Path, post_id: int) -> int | None:
    s = Store(project)
    try:
        return s.state("alice", post_id).relevance
    finally:
        s.close()


async def test_busy_project_decision_not_saved_then_saved(project: Path, codebook: Codebook) -> None:
    # A short wait through the constructor, so the test does not sit out the app's few seconds.
    app = QualtuiApp(Store(project, busy_timeout=0.2), codebook, "alice", mode="screening", config=CONFIG)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        first = app.session.current.post["id"]
        label = app.session.current.post["label"]
        other = sqlite3.connect(project, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another qualtui command writing
        await pilot.press("1")
        await pilot.pause()
        sentence = (f"The decision was NOT saved. The project {project} is busy: another qualtui command "
                    "is writing to it; try again when it finishes.")
        assert (sentence, "error", False) in _notes(app)
        assert app.session.current.post["id"] == first  # the screen kept the post
        assert app.session.current.state.relevance is None
        text = screen_text(app)
        assert label in text and "last decision NOT saved" in text and "post 1 of 200" in text
        other.execute("ROLLBACK")
        other.close()
        assert _relevance(project, first) is None
        await pilot.press("1")  # the lock is gone: the same key saves it
        await pilot.pause()
        assert _relevance(project, first) == 1
        assert app.session.current.post["id"] != first
        assert "last decision NOT saved" not in screen_text(app)


async def test_read_only_project_browses_and_refuses_decisions(project: Path, codebook: Codebook) -> None:
    before = project.read_bytes()
    app = QualtuiApp(Store(project, readonly=True), codebook, "alice", mode="screening", config=CONFIG)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        first = app.session.current.post["id"]
        await pilot.press("1")
        await pilot.pause()
        assert ("This project is open read-only: decisions cannot be saved.", "error", False) in _notes(app)
        assert app.session.current.post["id"] == first
        await pilot.press("right")  # browsing still works
        await pilot.pause()
        assert app.session.current.post["id"] != first
        assert "post 2 of 200" in screen_text(app)
        await pilot.press("m", "f")  # flag: refused the same way, nothing crashes
        await pilot.pause()
        assert not app.session.current.state.flagged
    app.store.close()
    assert project.read_bytes() == before
    s = Store(project)
    assert s.events() == [] and s.db.execute("SELECT count(*) FROM wb_log").fetchone()[0] == 0


async def test_reconcile_on_busy_project_is_not_saved(tmp_path: Path) -> None:
    from tests.sync_helpers import code, project
    from tests.ui.test_reconcile import PLAN_A, PLAN_B, Host, _decide, _screen

    s = project(tmp_path, "p")
    code(s, "alice", PLAN_A)
    code(s, "bob", PLAN_B)
    s.close()
    db = tmp_path / "p.db"
    app = Host(Store(db, busy_timeout=0.2))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        before = _screen(app).current.post_id  # type: ignore[union-attr]
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        await _decide(pilot, "a", "m")
        other.execute("ROLLBACK")
        other.close()
        sentence = (f"The decision was NOT saved. The project {db} is busy: another qualtui command "
                    "is writing to it; try again when it finishes.")
        assert (sentence, "error", False) in [(n.message, n.severity, n.markup) for n in app._notifications]
        assert _screen(app).current.post_id == before  # type: ignore[union-attr]
        assert Store(db).events(coder="consensus") == []


async def test_memo_refused_is_kept_for_the_next_try(project: Path, codebook: Codebook) -> None:
    from textual.widgets import TextArea

    app = QualtuiApp(Store(project, busy_timeout=0.2), codebook, "alice", mode="coding", config=CONFIG)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        pid = app.session.current.post["id"]
        other = sqlite3.connect(project, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        await pilot.press("e", *"half an hour of writing", "ctrl+s")
        await pilot.pause()
        assert any(m.startswith("The decision was NOT saved.") for m, _, _ in _notes(app))
        assert app.session.current.state.memo == ""
        other.execute("ROLLBACK")
        other.close()
        await pilot.press("e")  # the text the coder wrote is offered again, not lost
        await pilot.pause()
        assert app.screen.query_one(TextArea).text == "half an hour of writing"
        await pilot.press("ctrl+s")
        await pilot.pause()
    s = Store(project)
    assert s.state("alice", pid).memo == "half an hour of writing"


async def test_deleting_wellbeing_history_on_read_only_project_is_refused(project: Path) -> None:
    from tests.ui.test_wellbeing_screen import Host as WellbeingHost
    from tests.ui.test_wellbeing_screen import a_week, rows

    s = Store(project)
    a_week(s, "alice", "2026-11-30")
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    store = Store(project, readonly=True)
    app = WellbeingHost(store, "alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("D", "y")
        await pilot.pause()
        sentence = f"Nothing was deleted. The project {project} is read-only: nothing was written."
        assert (sentence, "error", False) in _notes(app)  # type: ignore[arg-type]
        assert app.deleted == []
    store.close()
    assert rows(Store(project), "alice") == 8


async def test_memo_draft_refused_by_a_busy_project_keeps_the_editor_open(project: Path, codebook: Codebook) -> None:
    from tui.core.coding.memo_drafts import load_draft
    from tui.ui.screens.memo import MemoScreen

    app = QualtuiApp(Store(project, busy_timeout=0.2), codebook, "alice", mode="coding", config=CONFIG)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        post_id = app.session.current.post["id"]
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"half a thought")
        other = sqlite3.connect(project, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another qualtui command writing
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MemoScreen), "closing would have lost the text"
        assert any(m.startswith("The draft was NOT kept:") and sev == "error" for m, sev, _ in _notes(app))
        other.execute("ROLLBACK")
        other.close()
        await pilot.press("escape")  # the project is free again: the draft is kept and the editor closes
        await pilot.pause()
        assert not isinstance(app.screen, MemoScreen)
        assert load_draft(app.store, "alice", post_id) == "half a thought"
