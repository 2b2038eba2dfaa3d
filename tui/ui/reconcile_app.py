"""The reconciliation app: the reconcile screen with masking and the reconciler's own break policy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual import on

from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.project.store import Store
from tui.ui.screens.reconcile import ReconcileScreen
from tui.ui.wellbeing_app import WellbeingApp


class ReconcileApp(WellbeingApp):
    """One person reconciling the coders' disagreements; reading posts counts as exposure."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    TITLE = "qualtui reconcile"

    def __init__(self, store: Store, codebook: Codebook, coder: str, *, coders: Sequence[str] | None = None,
                 sort: str = "count", config: Config | None = None, clock: Any = time.time) -> None:
        super().__init__(store, coder, config=config, clock=clock)
        self.codebook = codebook
        self.coders = list(coders) if coders else None
        self.sort = sort

    def on_mount(self) -> None:
        status = self.start_wellbeing()
        self.push_screen(ReconcileScreen(self.store, self.codebook, coders=self.coders, sort=self.sort,
                                         by=self.coder))
        self._apply(status)

    def text_screen(self) -> ReconcileScreen | None:
        """The reconciliation screen, which shows the post."""
        screen: ReconcileScreen | None = self.first_screen(ReconcileScreen)
        return screen

    @on(ReconcileScreen.PostShown)
    def _post_shown(self, message: ReconcileScreen.PostShown) -> None:
        """The exposure clock follows the post on screen, weighed by its codes."""
        screen = self.text_screen()
        if screen is None or screen.hidden_reason():
            return  # hidden since the message was sent: the policy already stopped the clock
        self.report_shown(message.post["id"], message.weight)

    @on(ReconcileScreen.PostHidden)
    def _post_hidden(self) -> None:
        """No post text on screen: the exposure clock stops."""
        self._report_hidden()

    async def action_quit(self) -> None:
        """Quit; every decision is already saved."""
        self.end_session()

    def post_changed(self) -> None:
        """Called after the screen moved to another post: masking returns."""
        self.revealed = None


def run_reconcile(db: Path, codebook: Codebook, coder: str, config: Config, *, coders: Sequence[str] | None = None,
                  sort: str = "count") -> int:
    """Open the project and run the reconciliation app until the user quits; its exit status (1 after a crash)."""
    store = Store(db, create=False)
    try:
        app = ReconcileApp(store, codebook, coder, coders=coders, sort=sort, config=config)
        app.run()
    finally:
        store.close()
    return app.return_code or 0
