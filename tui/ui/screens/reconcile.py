"""The reconciliation screen: one disputed post at a time, every coder's decisions side by side.

Keys: `a`/`b` (or `1`–`9`) keep one coder's decisions, `o` keeps both (the union), `d` keeps only what
every coder agreed on, `s` opens a numbered list of every code the coders used to write the reconciled
set, `r` decides a disputed relevance. Each decision first asks why the coders disagreed (one key) and
for an optional note, then is committed as `consensus` events before the screen moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.core.codebook.model import Codebook
from tui.core.coding.sentences import split_sentences
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.store import READONLY_DECISIONS, Store, WriteRefused
from tui.core.safe import clean
from tui.core.sync.codebook_diff import codebook_differences
from tui.core.sync.consensus import (
    BOTH,
    DROP,
    KEEP,
    RELEVANCE_ITEM,
    SET,
    Choice,
    ConsensusError,
    Disagreement,
    apply_choice,
    compare_post,
    default_coders,
    disagreements,
)
from tui.core.wellbeing.masking import apply_mask
from tui.ui.screens.bindings import B
from tui.ui.screens.reconcile_codebook import CodebookDiffScreen
from tui.ui.screens.reconcile_dialogs import DecisionTypeScreen, ReconciledSetScreen, ReconcileHelpScreen
from tui.ui.screens.reconcile_view import code_name, render_summary, render_view
from tui.ui.widgets.post_view import MASK, PostView

__all__ = ["DecisionTypeScreen", "ReconciledSetScreen", "ReconcileHelpScreen", "ReconcileScreen"]

SORT_NAMES = {"count": "most disagreements first", "code": "by code"}


class ReconcileScreen(Screen[None]):
    """Disputed posts one at a time; each decision is committed before the screen moves on."""

    class PostShown(Message):
        """This post's text is on screen, weighed by the heaviest code any coder gave it."""

        def __init__(self, post: dict[str, Any], weight: float) -> None:
            super().__init__()
            self.post, self.weight = post, weight

    class PostHidden(Message):
        """No post text is on screen."""

    BINDINGS = [
        B("a", "keep(0)", "Keep A", "reconcile.keep_a", "Keep the first coder's decisions on this post"),
        B("b", "keep(1)", "Keep B", "reconcile.keep_b", "Keep the second coder's decisions on this post"),
        *[B(str(n), f"keep({n - 1})", f"Keep {n}", f"reconcile.keep_{n}",
            "Keep coder N's decisions (columns are numbered)", show=False) for n in range(1, 10)],
        B("o", "both", "Both", "reconcile.both", "Keep every code any coder chose (relevant if anyone said so)"),
        B("d", "drop", "Drop", "reconcile.drop", "Keep only what every coder agreed on"),
        B("s", "write_set", "Set", "reconcile.set", "Write the reconciled set from the codes the coders used"),
        B("r", "relevance", "Relevance", "reconcile.relevance", "Decide a disputed relevance (then 1 or 0)"),
        B("n,right", "step(1)", "Next", "reconcile.next", "Next disputed post"),
        B("p,left", "step(-1)", "Prev", "reconcile.previous", "Previous disputed post"),
        B("t", "toggle_sort", "Sort", "reconcile.sort", "Sort by number of disagreements or by code",
          show=False),
        B("c", "codebook", "Codebook", "reconcile.codebook",
          "Codebook differences: codes created, placed, renamed or merged differently by the coders"),
        B("u", "undo", "Undo", "reconcile.undo", "Not available: choose again to revise a decision", show=False),
        B("v", "reveal", "Reveal", "reconcile.reveal", "Show the masked terms of this post", show=False),
        B("question_mark", "help", "Keys", "reconcile.help", "All keys"),
        B("q", "app.quit", "Quit", "reconcile.quit", "Quit (every decision is already saved)"),
    ]

    def __init__(self, store: Store, codebook: Codebook, *, coders: Sequence[str] | None = None,
                 sort: str = "count", by: str = "") -> None:
        super().__init__()
        self.store = store
        self.codebook = codebook
        self.by = by
        self.sort = sort
        self.items: list[Disagreement] = []
        self.index = 0
        self.text_hidden: str | None = None  # why the post text is hidden (break, cap), if it is
        self.pending: str | None = None  # "relevance" while waiting for 1 or 0
        self.error: str | None = None
        try:
            self.coders = default_coders(store, coders)
        except ConsensusError as exc:
            self.coders, self.error = list(coders or []), str(exc)

    @property
    def current(self) -> Disagreement | None:
        """The disputed post on screen."""
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    @property
    def n_resolved(self) -> int:
        """How many of the disputed posts have a finished consensus."""
        return sum(d.resolved for d in self.items)

    def compose(self) -> ComposeResult:
        yield Static(id="rc-header")
        yield PostView(id="rc-post")
        yield Static(id="rc-summary")
        with Horizontal(id="rc-coders"):
            for i, _ in enumerate(self.coders):
                with VerticalScroll(classes="rc-coder"):
                    yield Static(id=f"rc-coder-{i}")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PostView).focus()
        self._load()
        if not self.action_codebook(quiet=True):
            self.refresh_post()

    def action_codebook(self, quiet: bool = False) -> bool:
        """Show the codebook differences (listed before the posts); False when there are none."""
        found = [] if self.error else codebook_differences(self.store, self.codebook.file_codebook(), self.coders)
        if not found:
            if not quiet:
                self.notify("No codebook difference is left to reconcile.", timeout=3, markup=False)
            return False
        self.post_message(self.PostHidden())  # no post text is on screen while the codebook is

        def done(changed: bool | None) -> None:
            if changed:  # the consensus changes are part of the codebook the posts are compared with
                self.codebook = effective_codebook(self.store.db.conn, self.codebook.file_codebook())[0]
                if hasattr(self.app, "codebook"):
                    self.app.codebook = self.codebook
            self._load(keep=self.current.post_id if self.current else None)
            self.refresh_post()

        self.app.push_screen(CodebookDiffScreen(self.store, self.codebook.file_codebook(), found,
                                                coders=self.coders, by=self.by), done)
        return True

    def _load(self, keep: int | None = None) -> None:
        """Read the disputed posts: unresolved first, then in the chosen sort."""
        if self.error:
            return
        try:
            found = disagreements(self.store, self.codebook, coders=self.coders, sort=self.sort)
        except ConsensusError as exc:
            self.error = str(exc)
            return
        self.items = sorted(found, key=lambda d: d.resolved)
        ids = [d.post_id for d in self.items]
        self.index = ids.index(keep) if keep in ids else 0

    # ------------------------------------------------------------ rendering

    def _masked(self, text: str, post_id: int) -> str:
        spans = getattr(self.app, "mask_spans", None)
        return apply_mask(text, spans({"id": post_id, "text": text}), MASK) if callable(spans) else text

    def hidden_reason(self) -> str | None:
        """Why the post text is hidden now (a break, the daily limit), or None when it may show."""
        if self.text_hidden:
            return self.text_hidden
        tick = getattr(self.app, "wellbeing_tick", None)
        if callable(tick) and not tick().text_allowed:
            return "Post text is hidden."
        return None

    def refresh_post(self) -> None:
        """Redraw the header, the post, the summary and every coder's column."""
        d = self.current
        view = self.query_one(PostView)
        if d is None:
            view.hide(self.error or "Nothing to reconcile: the coders agree on every post they all screened "
                      "or finished.")
            self.query_one("#rc-header", Static).update(Text(" Reconciliation ", style="bold reverse"))
            self.query_one("#rc-summary", Static).update("")
            self._exposure(None, True)
            return
        post = self.store.post(d.post_id) or {"id": d.post_id, "label": d.label, "title": "", "text": "", "tags": []}
        hidden = self.hidden_reason()
        if hidden:
            view.hide(hidden)
        else:
            quoted = {(q.start, q.end) for v in d.views.values() for q in v.quotes}
            spans = getattr(self.app, "mask_spans", None)
            masked = spans(post) if callable(spans) else []
            view.show(post["text"], split_sentences(post["text"]), quoted, masked)
        self.query_one("#rc-header", Static).update(self._header(d, post, bool(hidden)))
        self.query_one("#rc-summary", Static).update(render_summary(self.store, self.codebook, d))
        for i, coder in enumerate(self.coders):
            if coder in d.views:
                self.query_one(f"#rc-coder-{i}", Static).update(render_view(
                    d.views[coder], d, self.codebook, i, bool(hidden), lambda s: self._masked(s, d.post_id)))
        self._exposure(post, bool(hidden))

    def _header(self, d: Disagreement, post: dict[str, Any], hidden: bool) -> Text:
        out = Text()
        out.append(f" {clean(d.label, oneline=True)} ", style="bold reverse")
        out.append(f"  disputed post {self.index + 1} of {len(self.items)}")
        out.append(f"  ·  {self.n_resolved} / {len(self.items)} reconciled", style="bold")
        out.append(f"  ·  {SORT_NAMES.get(self.sort, self.sort)}", style="dim")
        if d.resolved:
            out.append("  ✓ reconciled", style="bold green")
        if post.get("title") and not hidden:
            out.append("\n")
            out.append(clean(post["title"], oneline=True), style="bold")
        return out

    def _exposure(self, post: dict[str, Any] | None, hidden: bool) -> None:
        """Tell the app, by message, which post text is on screen (reading it counts as exposure)."""
        if post is None or hidden or isinstance(self.app.screen, CodebookDiffScreen):  # covered: no text shows
            self.post_message(self.PostHidden())
            return
        d = self.current
        codes = {c for v in d.views.values() for c in v.codes} if d else set()
        weight = max([self.codebook.severity(c) for c in codes if self.codebook.node(c) is not None], default=1.0)
        self.post_message(self.PostShown(post, weight))

    def set_text_hidden(self, reason: str | None) -> None:
        """Hide or show the post text (the well-being policy decides)."""
        if reason == self.text_hidden:
            return
        self.text_hidden = reason
        if self.is_mounted:
            self.refresh_bindings()
            self.refresh_post()

    def describe(self) -> dict[str, Any]:
        """What the screen shows, for tests."""
        d = self.current
        return {"label": d.label if d else None, "post_id": d.post_id if d else None, "index": self.index,
                "total": len(self.items), "resolved": self.n_resolved, "sort": self.sort,
                "hidden": self.text_hidden}

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"keep", "both", "drop", "write_set", "relevance", "reveal"}:
            if self.current is None or self.hidden_reason():
                return None
        if action == "keep" and parameters and int(parameters[0]) >= len(self.coders):  # type: ignore[call-overload]
            return None
        return True

    async def on_key(self, event: events.Key) -> None:
        if self.pending is None:
            return
        event.stop()
        event.prevent_default()
        self.pending = None
        if event.character in ("0", "1"):
            value = int(event.character)
            what = Text("Relevance of " + clean(self.current.label if self.current else "", oneline=True) + ": ")
            what.append("relevant" if value else "not relevant", style="bold")
            self._decide(Choice(SET, item=RELEVANCE_ITEM, relevance=value), what)
        else:
            self.notify("Cancelled.", timeout=2, markup=False)

    def _what(self, text: str, coder: str = "") -> Text:
        out = Text(text, style="bold")
        if coder:
            out.append(" " + clean(coder, oneline=True) + "'s decisions", style="bold")
        out.append(" on " + clean(self.current.label if self.current else "", oneline=True))
        return out

    def _decide(self, choice: Choice, what: Text) -> None:
        """Ask why the coders disagreed, then commit the choice and move on."""
        d = self.current
        if d is None:
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is None:
                self.notify("Cancelled: nothing was recorded.", timeout=2, markup=False)
                return
            kind, note = result
            full = Choice(choice.action, coder=choice.coder, codes=choice.codes, relevance=choice.relevance,
                          item=choice.item, type=kind, note=note)
            try:
                apply_choice(self.store, self.codebook, d.post_id, full, coders=self.coders, by=self.by)
            except ConsensusError as exc:
                self.notify(clean(str(exc), oneline=True), severity="error", timeout=6, markup=False)
                return
            except WriteRefused as exc:  # busy, read-only or full: told, and the post stays undecided
                self.notify(READONLY_DECISIONS if exc.kind == "readonly" else f"The decision was NOT saved. {exc}",
                            severity="error", timeout=10, markup=False)
                return
            self._after_decision(d.post_id)

        self.app.push_screen(DecisionTypeScreen(what), chosen)

    def _after_decision(self, post_id: int) -> None:
        fresh = compare_post(self.store, self.codebook, post_id, coders=self.coders)
        i = next(k for k, x in enumerate(self.items) if x.post_id == post_id)
        self.items[i] = fresh
        if not fresh.resolved:
            self.notify("Recorded. Some codes are still disputed: a, b, o, d or s decides them.", timeout=4,
                        markup=False)
            self.refresh_post()
            return
        n = len(self.items)
        nxt = next(((i + k) % n for k in range(1, n + 1) if not self.items[(i + k) % n].resolved), None)
        if nxt is None:
            self.notify(f"All {n} disputed posts are reconciled.", timeout=5, markup=False)
            self.refresh_post()
            return
        self._go(nxt)

    def _go(self, index: int) -> None:
        self.index = index
        changed = getattr(self.app, "post_changed", None)
        if callable(changed):
            changed()
        self.refresh_post()

    def action_keep(self, i: int) -> None:
        if self.current is not None and 0 <= i < len(self.coders):
            self._decide(Choice(KEEP, coder=self.coders[i]), self._what("Keep", self.coders[i]))

    def action_both(self) -> None:
        self._decide(Choice(BOTH), self._what("Keep both (every code any coder chose)"))

    def action_drop(self) -> None:
        self._decide(Choice(DROP), self._what("Drop the disputed codes (keep only what all agreed)"))

    def action_write_set(self) -> None:
        d = self.current
        if d is None:
            return
        used = list(dict.fromkeys(c for v in d.views.values() for c in v.codes))
        items = [(c, code_name(self.codebook, c), ", ".join(v.coder for v in d.views.values() if c in v.codes))
                 for c in used]

        def picked(codes: frozenset[str] | None) -> None:
            if codes is None:
                return
            names = ", ".join(code_name(self.codebook, c) for c in codes) or "no code (not relevant)"
            what = self._what("Reconciled set")
            what.append(": " + clean(names, oneline=True))
            self._decide(Choice(SET, codes=codes), what)

        self.app.push_screen(ReconciledSetScreen(d.label, items, set(d.agreed)), picked)

    def action_relevance(self) -> None:
        d = self.current
        if d is None:
            return
        if not any(x.item == RELEVANCE_ITEM for x in d.disputed):
            self.notify("Relevance is not disputed on this post: a, b, o, d or s decides the codes.", timeout=3,
                        markup=False)
            return
        self.pending = "relevance"
        self.notify("Relevant? Press 1 for yes, 0 for no (any other key cancels).", timeout=4, markup=False)

    def action_step(self, step: int) -> None:
        if not self.items:
            return
        target = self.index + step
        if not 0 <= target < len(self.items):
            self.notify("That is the " + ("last" if step > 0 else "first") + " disputed post.", timeout=2, markup=False)
            return
        self._go(target)

    def action_toggle_sort(self) -> None:
        self.sort = "code" if self.sort == "count" else "count"
        self._load(keep=self.current.post_id if self.current else None)
        self.refresh_post()
        self.notify("Sorted " + SORT_NAMES[self.sort] + ".", timeout=2, markup=False)

    def action_undo(self) -> None:
        self.notify("Undo is not available here: choose again to revise a post's consensus.", timeout=3, markup=False)

    def action_reveal(self) -> None:
        if self.current is not None and hasattr(self.app, "revealed"):
            self.app.revealed = self.current.post_id
            self.refresh_post()

    def action_help(self) -> None:
        self.app.push_screen(ReconcileHelpScreen())
