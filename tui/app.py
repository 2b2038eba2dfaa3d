"""The qualtui Textual app: wires the coding screen to a project, a codebook and a coder."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.core.codebook import Category, Codebook
from tui.core.config import Config
from tui.core.lookup import search
from tui.core.masking import default_lexicon, mask, severity_label
from tui.core.safe import clean
from tui.core.session import Session
from tui.core.store import Store
from tui.screens.coding import CodingScreen


class CodebookCommands(Provider):
    """Command palette: search the codebook and assign (the same search as `qualtui lookup`)."""

    async def discover(self) -> Hits:
        app: QualtuiApp = self.app  # type: ignore[assignment]
        for code_id in app.session.recent:
            node = app.codebook.node(code_id)
            if node is not None:
                yield DiscoveryHit(Text(clean(app.codebook.path_str(code_id), oneline=True)),
                                   partial(app.assign_from_palette, code_id), help="recently used")

    async def search(self, query: str) -> Hits:
        app: QualtuiApp = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        for hit in search(app.codebook, query, limit=15):
            if isinstance(hit.node, Category):
                continue
            path = clean(app.codebook.path_str(hit.node.id), oneline=True)
            score = max(matcher.match(path), 0.3 + min(hit.score, 100) / 200)
            yield Hit(score, Text(path), partial(app.assign_from_palette, hit.node.id),
                      help=clean(hit.node.definition, oneline=True)[:100])


class QualtuiApp(App[None]):
    """One coder coding one project."""

    CSS_PATH = "app.tcss"
    TITLE = "qualtui"
    COMMANDS = App.COMMANDS | {CodebookCommands}
    BINDINGS = [Binding("ctrl+p", "command_palette", "Palette", show=False, id="palette",
                        tooltip="Command palette: codebook search and more")]

    def __init__(self, store: Store, codebook: Codebook, coder: str, *, config: Config | None = None,
                 mode: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.codebook = codebook
        self.coder = coder
        self.config = config or Config()
        self.session = Session(store, codebook, coder)
        self.masking = self.config.masking
        self.revealed: int | None = None  # the post whose masked terms the coder chose to see
        self._lexicon = default_lexicon()
        self.start_mode = mode or self.config.mode

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(self.config.keys)
        self.push_screen(CodingScreen(self.session, mode=self.start_mode,
                                      show_suggestions=self.config.show_suggestions))

    # ------------------------------------------------------------ hooks used by the screens

    def mask_spans(self, post: dict[str, Any]) -> list[tuple[int, int]]:
        """Spans of graphic terms to mask in this post (none if masking is off or revealed)."""
        if not self.masking or self.revealed == post["id"]:
            return []
        return mask(post["text"], self._lexicon)

    def post_weight(self, post: dict[str, Any]) -> float:
        """Exposure weight: the highest severity among the coder's codes and the model's suggestions."""
        cur = self.session.current
        ids: list[str] = []
        if cur is not None and cur.post["id"] == post["id"]:
            ids = list(cur.state.codes) + [c for k, c, s in cur.suggestions if k == "code" and s >= 0.5]
        weights = [self.codebook.severity(i) for i in ids if self.codebook.node(i) is not None]
        return max(weights, default=1.0)

    def severity_label(self, post: dict[str, Any]) -> str | None:
        """A short header label for severe posts (not a blocking warning)."""
        return severity_label(self.post_weight(post))

    def wellbeing_status(self) -> str:
        """A short well-being note for the status bar."""
        return ""

    def post_changed(self) -> None:
        """Called after the coding screen moved to another post."""
        self.revealed = None

    def assign_from_palette(self, code_id: str) -> None:
        """Assign a code chosen in the command palette."""
        screen = self.screen
        if isinstance(screen, CodingScreen) and not screen.text_hidden and self.session.current is not None:
            if screen.mode != "coding":
                screen.mode = "coding"
            screen._assign(code_id)


def run_app(db: Path, codebook: Codebook, coder: str, config: Config, mode: str | None = None) -> None:
    """Open the project and run the app until the coder quits."""
    store = Store(db, create=False)
    try:
        QualtuiApp(store, codebook, coder, config=config, mode=mode).run()
    finally:
        store.close()
