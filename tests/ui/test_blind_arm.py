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
            s.db.conn.executemany(
                "INSERT INTO suggestions (post_id, kind, code_id, score, source) VALUES (?, ?, ?, ?, 'llm')",
                [(pid, "relevance", "", 0.91), (pid, "code", TORTURE, 0.8), (pid, "code", CONFINEMENT, 0.6)])
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
