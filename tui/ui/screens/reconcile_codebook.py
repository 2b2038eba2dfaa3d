"""Codebook differences, reconciled before the posts: the coders' sides, and a key per choice.

Keys: `a`/`b` (or `3`–`9`) pick that side's choice (keep that code, that parent, that edit; for a code
merged or retired while still used, `a` confirms and `b` undoes), `o` keeps both codes, `e` types a new
name or definition. A choice is shown first and recorded on Enter, as consensus codebook changes; a
refused one is its one sentence and nothing is written. Escape leaves for the disputed posts.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from tui.core.codebook.model import Codebook
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.store import READONLY_DECISIONS, Store, WriteRefused
from tui.core.safe import clean
from tui.core.sync.codebook_choice import BOTH, SIDE_KEYS, TYPED, Option, choose, options
from tui.core.sync.codebook_diff import KIND_NAMES, CodebookDiff, codebook_differences
from tui.core.sync.consensus import ConsensusError
from tui.ui.screens.bindings import B
from tui.ui.screens.help import HelpScreen


class CodebookDiffHelpScreen(HelpScreen):
    """The keys of the codebook differences screen."""

    TABLE_TITLE = "Codebook difference keys (remap them in the config file by id)"
    APP_KEYS = False


class CodebookDiffScreen(Screen[bool]):
    """One codebook difference at a time; dismissed (True if any choice was recorded) when none is left."""

    BINDINGS = [
        B("a", "pick('a')", "Side A", "codebook_diff.a", "The first coder's side: keep that code, parent or edit"),
        B("b", "pick('b')", "Side B", "codebook_diff.b", "The second coder's side (for a code still used: undo)"),
        *[B(k, f"pick('{k}')", f"Side {k}", f"codebook_diff.side_{k}", "Coder N's side (columns are numbered)",
            show=False) for k in SIDE_KEYS[2:]],
        B("o", f"pick('{BOTH}')", "Keep both", "codebook_diff.both", "Two alike codes: keep both as different codes"),
        B("e", f"pick('{TYPED}')", "Type", "codebook_diff.type", "Conflicting edits: type a new name or definition"),
        B("enter", "confirm", "Record", "codebook_diff.confirm", "Record the choice shown"),
        B("n,right", "step(1)", "Next", "codebook_diff.next", "Next codebook difference"),
        B("p,left", "step(-1)", "Prev", "codebook_diff.previous", "Previous codebook difference"),
        B("escape", "leave", "Posts", "codebook_diff.posts", "Cancel the choice shown, else go on to the posts"),
        B("question_mark", "help", "Keys", "codebook_diff.help", "All keys"),
        B("q", "app.quit", "Quit", "codebook_diff.quit", "Quit (every choice is already saved)"),
    ]

    def __init__(self, store: Store, file_codebook: Codebook, diffs: Sequence[CodebookDiff], *,
                 coders: Sequence[str], by: str = "") -> None:
        super().__init__()
        self.store = store
        self.file_codebook = file_codebook
        self.diffs = list(diffs)
        self.coders = list(coders)
        self.by = by
        self.index = 0
        self.pending: Option | None = None
        self.recorded = False
        self.codebook = effective_codebook(store.db.conn, file_codebook)[0]

    @property
    def current(self) -> CodebookDiff | None:
        """The difference on screen."""
        return self.diffs[self.index] if 0 <= self.index < len(self.diffs) else None

    def compose(self) -> ComposeResult:
        yield Static(id="cd-header")
        with VerticalScroll(id="cd-body"):
            yield Static(id="cd-sides")
            yield Static(id="cd-options")
        yield Static(id="cd-pending")
        yield Input(placeholder="The new value · Enter records · Escape cancels", id="cd-typed", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_diff()

    def refresh_diff(self) -> None:
        """Redraw the difference, its sides and its choices."""
        d = self.current
        if d is None:
            return
        head = Text()
        head.append(f" Codebook difference {self.index + 1} of {len(self.diffs)} ", style="bold reverse")
        head.append(f"  {KIND_NAMES[d.kind]}", style="bold")
        head.append("  ·  then the disputed posts", style="dim")
        head.append("\n" + clean(d.title, oneline=True), style="bold")
        self.query_one("#cd-header", Static).update(head)
        sides = Text()
        for key, side in zip(SIDE_KEYS, d.sides, strict=False):
            sides.append(f" {key} ", style="bold reverse")
            sides.append(" " + clean(side.coder, oneline=True), style="bold")
            sides.append("\n   " + clean(side.says, oneline=True) + "\n\n")
        self.query_one("#cd-sides", Static).update(sides)
        opts = Text("Choices\n", style="underline")
        for opt in options(d, self.codebook):
            chosen = self.pending is not None and self.pending.key == opt.key
            opts.append(f" {opt.key} ", style="bold reverse" if chosen else "bold cyan")
            opts.append(" " + clean(opt.label, oneline=True) + "\n", style="bold" if chosen else "")
        self.query_one("#cd-options", Static).update(opts)
        self._show_pending()

    def _show_pending(self) -> None:
        line = Text()
        if self.pending is not None:
            line.append("Enter records: ", style="bold")
            line.append(clean(self.pending.label, oneline=True))
            line.append("  ·  Escape cancels", style="dim")
        self.query_one("#cd-pending", Static).update(line)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        d = self.current
        if action in ("pick", "step") and self.pending is not None and self.pending.key == TYPED:
            return False  # the keys write the new value
        if action == "pick" and d is not None:
            return True if any(o.key == parameters[0] for o in options(d, self.codebook)) else None
        return True

    def action_pick(self, key: str) -> None:
        """Show the choice under this key; Enter then records it (or, to type, the typed value does)."""
        d = self.current
        opt = next((o for o in options(d, self.codebook) if o.key == key), None) if d else None
        if opt is None:
            self.app.bell()
            return
        self.pending = opt
        self.refresh_diff()
        typed = self.query_one("#cd-typed", Input)
        typed.disabled = key != TYPED
        if key == TYPED:
            typed.value = ""
            typed.focus()

    @on(Input.Submitted, "#cd-typed")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        """Record the choice shown as consensus codebook changes, then go on."""
        d, opt = self.current, self.pending
        if d is None or opt is None:
            self.notify("First press the key of a choice (a, b, o or e).", timeout=3, markup=False)
            return
        typed = self.query_one("#cd-typed", Input)
        try:
            said = choose(self.store, self.file_codebook, d, opt.key, typed=typed.value, by=self.by,
                          coders=self.coders)
        except ConsensusError as exc:
            self.notify(clean(str(exc), oneline=True), severity="error", timeout=8, markup=False)
            return
        except WriteRefused as exc:
            self.notify(READONLY_DECISIONS if exc.kind == "readonly" else f"The choice was NOT saved. {exc}",
                        severity="error", timeout=10, markup=False)
            return
        self.recorded = True
        self._reset_typed()
        self.notify(clean("Recorded: " + "; ".join(said), oneline=True), timeout=4, markup=False)
        self.codebook = effective_codebook(self.store.db.conn, self.file_codebook)[0]
        # A choice can settle or raise others (two codes placed together may now look alike): read them again.
        self.diffs = codebook_differences(self.store, self.file_codebook, self.coders)
        if not self.diffs:
            self.notify("Every codebook difference is reconciled; now the disputed posts.", timeout=5, markup=False)
            self.dismiss(True)
            return
        self.index = min(self.index, len(self.diffs) - 1)
        self.refresh_diff()

    def _reset_typed(self) -> None:
        self.pending = None
        typed = self.query_one("#cd-typed", Input)
        typed.value, typed.disabled = "", True

    def action_step(self, step: int) -> None:
        target = self.index + step
        if not 0 <= target < len(self.diffs):
            self.notify("That is the " + ("last" if step > 0 else "first") + " codebook difference.", timeout=2,
                        markup=False)
            return
        self._reset_typed()
        self.index = target
        self.refresh_diff()

    def action_help(self) -> None:
        self.app.push_screen(CodebookDiffHelpScreen())

    def action_leave(self) -> None:
        """Escape: cancel the choice shown, else leave the codebook differences for the posts."""
        if self.pending is not None:
            self._reset_typed()
            self.refresh_diff()
            self.notify("Cancelled: nothing was recorded.", timeout=2, markup=False)
            return
        self.dismiss(self.recorded)
