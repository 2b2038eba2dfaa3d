"""The key picker: category → code → sub-code, each step listing keys, names and definitions."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from tui.core.codebook.model import Category, Code, Codebook
from tui.core.safe import clean
from tui.ui.widgets.code_panel import category_colour


def render_choices(codebook: Codebook, parent_id: str | None, title: str, width: int = 100) -> Text:
    """The choices under `parent_id` (None = categories) with their keys and short definitions."""
    out = Text()
    out.append(clean(title, oneline=True), style="bold")
    if parent_id is not None:
        node = codebook.node(parent_id)
        if isinstance(node, Code):
            out.append("   Enter assigns this code · + new code here · Esc back", style="dim")
        else:
            out.append("   + new code here · Esc back", style="dim")
    out.append("\n")
    for child in codebook.children(parent_id):
        out.append(f" {child.key} ", style="bold reverse")
        colour = category_colour(codebook, child.id)
        out.append(" ")
        out.append(clean(child.name, oneline=True), style=f"bold {colour}")
        desc = child.description if isinstance(child, Category) else child.definition
        extra = ""
        if isinstance(child, Code) and child.subcodes:
            extra = f" [{len(child.subcodes)} sub-codes]"
        room = max(0, width - len(child.name) - len(extra) - 8)
        desc = clean(desc, oneline=True)
        if room > 10 and desc:
            out.append("  " + (desc if len(desc) <= room else desc[: room - 1] + "…"), style="dim")
        if extra:
            out.append(extra, style="cyan")
        out.append("\n")
    return out


class CodePicker(Static):
    """The code picker: owns its keys while open (code letter, sub-code letter, Enter, Esc, Backspace).

    The screen opens it on a category key and hands it every key while it is open (`take_key`); a
    chosen code is posted upward as `CodeChosen`. It never takes the focus: moving the focus restyles
    the screen, which cost every assignment tens of milliseconds, and keys typed in one burst are
    already queued for the focused post.
    """

    class CodeChosen(Message):
        """The coder picked a code (or sub-code) to assign."""

        def __init__(self, code_id: str) -> None:
            super().__init__()
            self.code_id = code_id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path: list[str] | None = None  # the node ids picked so far; None while closed
        self._codebook: Codebook | None = None

    def open(self, codebook: Codebook, category_id: str) -> None:
        """Open on a category and take the keys."""
        self._codebook = codebook
        self.path = [category_id]
        self.redraw()

    def close(self) -> None:
        """Close without choosing."""
        self.path = None
        self.redraw()

    def redraw(self) -> None:
        """Show the choices of the current step (or nothing while closed), fitted to the screen width."""
        if self.path is None or self._codebook is None:
            self.display = False
            return
        cb = self._codebook
        parent = self.path[-1] if self.path else None
        title = "Pick a category" if parent is None else cb.path_str(parent)
        self.update(render_choices(cb, parent, title, max(40, self.screen.size.width - 2)))
        self.display = True

    @property
    def is_open(self) -> bool:
        """True while the picker is taking keys."""
        return self.path is not None and self._codebook is not None

    def take_key(self, event: events.Key) -> bool:
        """Every key belongs to the picker while it is open: a step, Enter, Esc, Backspace or a bell."""
        if not self.is_open:
            return False
        event.stop()
        event.prevent_default()
        self._step(event.key, event.character)
        return True

    def _step(self, key: str, char: str | None) -> None:
        cb = self._codebook
        path = self.path
        assert cb is not None and path is not None
        if key == "escape":
            path.pop()
            if path:
                self.redraw()
            else:
                self.close()
            return
        if key == "backspace":
            if path[:-1]:
                self.path = path[:-1]
                self.redraw()
            else:
                self.close()
            return
        parent = path[-1]
        if key == "enter" and isinstance(cb.node(parent), Code):
            self._choose(parent)
            return
        child = next((c for c in cb.children(parent) if c.key == char), None) if char else None
        if child is None:
            self.app.bell()
            return
        if isinstance(child, Code) and not child.subcodes:
            self._choose(child.id)
            return
        path.append(child.id)
        self.redraw()

    def _choose(self, code_id: str) -> None:
        self.close()
        self.post_message(self.CodeChosen(code_id))
