"""What the app's palette offers (the codebook's codes) and the messages its pre-labelling workers send."""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from tui.core.codebook.lookup import search
from tui.core.codebook.model import Category
from tui.core.safe import clean


class CodebookCommands(Provider):
    """Command palette: search the codebook and assign (the same search as `qualtui lookup`)."""

    async def discover(self) -> Hits:
        app: Any = self.app  # the QualtuiApp (typed loosely: this module sits below it)
        for code_id in app.session.recent:
            node = app.codebook.node(code_id)
            if node is not None:
                yield DiscoveryHit(Text(clean(app.codebook.path_str(code_id), oneline=True)),
                                   partial(app.assign_from_palette, code_id), help="recently used")

    async def search(self, query: str) -> Hits:
        app: Any = self.app  # the QualtuiApp (typed loosely: this module sits below it)
        matcher = self.matcher(query)
        for hit in search(app.codebook, query, limit=15):
            if isinstance(hit.node, Category):
                continue
            path = clean(app.codebook.path_str(hit.node.id), oneline=True)
            score = max(matcher.match(path), 0.3 + min(hit.score, 100) / 200)
            yield Hit(score, Text(path), partial(app.assign_from_palette, hit.node.id),
                      help=app.masker()(clean(hit.node.definition, oneline=True))[:100])


class PrelabelProgress(Message):
    """Pre-labelling moved on (bursts collapse into the latest)."""

    def __init__(self, done: int, total: int, what: str = "pre-labelling") -> None:
        super().__init__()
        self.done, self.total, self.what = done, total, what

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PrelabelProgress)


class PrelabelFinished(Message):
    """Pre-labelling ended: a one-line summary (empty: nothing to say), or the error a user can act on."""

    def __init__(self, summary: str, error: bool) -> None:
        super().__init__()
        self.summary, self.error = summary, error


class LearnFinished(Message):
    """Learning from the coders' decisions ended: new suggestions for the posts, and a line saying so."""

    def __init__(self, summary: str, error: bool = False) -> None:
        super().__init__()
        self.summary, self.error = summary, error


def prelabel_failure(error: BaseException | None) -> str:
    """One plain sentence for a pre-labelling failure nobody planned for."""
    what = clean(f"{type(error).__name__}: {error}", oneline=True)[:200] if error is not None else "unknown error"
    return f"Pre-labelling stopped on an unexpected error ({what}). Your coding is saved; press P to try again."
