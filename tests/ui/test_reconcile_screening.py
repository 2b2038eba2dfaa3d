"""The reconciliation screen in the screening workflow: relevance decided without `done` is still disputed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App

import tui.ui
from tests.sync_helpers import CB, SCREEN_DISAGREE, SCREENED, project, screen, screening_plans
from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.core.sync.consensus import RELEVANCE_ITEM
from tui.ui.screens.reconcile import DecisionTypeScreen, ReconcileScreen


class Host(App[None]):
    """The smallest app around the screen: no well-being hooks, no masking."""

    CSS_PATH = Path(tui.ui.__file__).parent / "app.tcss"

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(ReconcileScreen(self.store, CB, by="lead"))


async def test_screening_disagreements_fill_the_queue(tmp_path: Path) -> None:
    s = project(tmp_path, "p", SCREENED)
    a, b = screening_plans()
    screen(s, "alice", a)
    screen(s, "bob", b)
    app = Host(s)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        rc: Any = next(x for x in app.screen_stack if isinstance(x, ReconcileScreen))
        assert len(rc.items) == SCREEN_DISAGREE
        assert all([x.item for x in d.disputed] == [RELEVANCE_ITEM] for d in rc.items)
        first = rc.current.post_id
        await pilot.press("r", "1")
        assert isinstance(app.screen, DecisionTypeScreen)
        await pilot.press("u", "enter")
        await pilot.pause()
        assert s.state(CONSENSUS, first).relevance == 1 and s.state(CONSENSUS, first).done
        assert rc.n_resolved == 1 and rc.current.post_id != first
