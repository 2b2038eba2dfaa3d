"""A blind post in the coding app: no pre-label, no suggestion, nothing made from them; well-being first."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ui.conftest import screen_text
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.prelabel.arms import BLIND, SHOWN, arm_of
from tui.core.project.store import Store
from tui.ui.app import QualtuiApp

SIZE = (120, 40)
TORTURE = "control/physical-abuse/torture"  # severity 2: a severe post
CONFINEMENT = "control/confinement"  # severity 1.5: "violence" in the header


def _suggest(project: Path, codebook: Codebook) -> tuple[int, int]:
    """A blind and a shown post, both with a confident relevance pre-label and code suggestions."""
    s = Store(project)
    posts = s.posts()
    blind = next(p["id"] for p in posts if arm_of(p, codebook) == BLIND)
    shown = next(p["id"] for p in posts if arm_of(p, codebook) == SHOWN)
    with s.db.conn:
        for pid in (blind, shown):
            # Learned code suggestions: only confident ones may weigh a post (zero-shot ones only rank).
            s.db.conn.executemany(
                "INSERT INTO suggestions (post_id, kind, code_id, score, source) VALUES (?, ?, ?, ?, ?)",
                [(pid, "relevance", "", 0.91, "llm"), (pid, "code", TORTURE, 0.8, "learned"),
                 (pid, "code", CONFINEMENT, 0.6, "learned")])
    s.set_project_setting("place.alice", json.dumps({"post": blind, "mode": "coding"}))
    s.close()
    return blind, shown


def _flat(text: str) -> str:
    """Screen text with toasts' borders and line breaks gone (a toast wraps its sentence)."""
    return " ".join(text.replace("▌", " ").split())


def _app(project: Path, codebook: Codebook) -> QualtuiApp:
    cfg = Config(wellbeing={"checkins": False, "severe_pause_seconds": 0})
    return QualtuiApp(Store(project), codebook, "alice", mode="coding", config=cfg)


async def test_a_blind_post_shows_no_model_output_but_keeps_its_warning(project: Path,
                                                                      blind_codebook: Codebook) -> None:
    blind, shown = _suggest(project, blind_codebook)
    app = _app(project, blind_codebook)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.session.current.post["id"] == blind
        text = screen_text(app)
        header = text.split("\n")[1]
        assert "blind" in text and "Blind post" in text
        assert "91%" not in text and "relevant?" not in text and "Torture" not in text and "Confinement" not in text
        assert "Suggestions" not in text
        # Well-being first: the model rates the post severe, so it warns without naming a category, and
        # the exposure clock still weighs it as severe.
        assert "content warning" in text and "severe content" not in text and "violence" not in text, header
        assert app.post_weight(app.session.current.post) == 2.0
        await pilot.press("a")  # the accept key does nothing on a blind post, and says why
        await pilot.pause()
        assert "This post is blind: it shows no suggestions, by the study's design." in _flat(screen_text(app))
        assert Store(project).events(coder="alice") == []
        await pilot.press("4", "c", "enter")  # the coder's own code: Control › Confinement
        await pilot.pause()
        st = Store(project)
        events = st.events(coder="alice")
        assert events and {e["arm"] for e in events} == {BLIND}
        # Once the coder's own code says so, the header names it like on any post.
        assert "violence" in screen_text(app) or "severe" in screen_text(app)
        app.session.go_post(shown)
        app.screen.refresh_post()
        await pilot.pause()
        text = screen_text(app)
        assert "91% relevant?" in text and "Blind post" not in text
        await pilot.press("a")
        await pilot.pause()
        assert {e["arm"] for e in Store(project).events(coder="alice", post_id=shown)} == {SHOWN}


async def test_the_report_screen_has_an_anchoring_tab_and_a_blind_only_scorecard(project: Path,
                                                                                 codebook: Codebook) -> None:
    from textual.widgets import DataTable

    from tests.ui.test_report_screen import Host, loaded
    from tui.core.project.events import Event

    store = Store(project)
    ids = store.post_ids(order="id")[:12]
    with store.db.conn:
        store.db.conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score)"
                                  " VALUES (?, 'relevance', '', ?)",
                                  [(pid, 0.9 if i % 2 == 0 else 0.1) for i, pid in enumerate(ids)])
    for i, pid in enumerate(ids):
        arm = BLIND if i < 6 else SHOWN
        for coder in ("alice", "bob"):
            value = str(1 - i % 2) if arm == SHOWN else "1"  # shown: as the model says; blind: all relevant
            store.record(Event(coder, pid, "relevance", value=value, arm=arm))
    app = Host(store, codebook, "alice")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(app, pilot)
        await pilot.press("5")
        text = _flat(screen_text(app))
        assert "blind posts only (n = 6): no suggestion was on screen" in text
        await pilot.press("7")
        text = _flat(screen_text(app))
        assert "On 12 blind and 12 shown decisions the coders agreed with the model's screen on 50% and 100%" in text
        arms = screen.query_one("#anchoring-arms", DataTable)
        rows = [[str(c) for c in arms.get_row_at(i)] for i in range(arms.row_count)]
        assert [r[:3] for r in rows] == [["alice", "blind", "6"], ["alice", "shown", "6"], ["bob", "blind", "6"],
                                         ["bob", "shown", "6"], ["all coders", "blind", "12"],
                                         ["all coders", "shown", "12"]]
        coders = screen.query_one("#anchoring-coders", DataTable)
        assert coders.row_count == 2  # alice – bob, within each arm
    store.close()
