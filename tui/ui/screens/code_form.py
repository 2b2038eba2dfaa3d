"""The short form that creates or refines a code: name, definition, aliases, key and (for a new code) its parent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.core.codebook.model import UNPLACED, Code, Codebook
from tui.core.project.store import READONLY_DECISIONS, WriteRefused
from tui.core.safe import clean
from tui.ui.screens.bindings import B

NOT_PLACED = "not yet placed"
DRAFT_NOTE = "empty: a draft, to be written before the post is done"


@dataclass
class CodeFormValues:
    """What the coder typed into the form (aliases split on commas, either the ASCII or the Chinese comma)."""

    name: str = ""
    definition: str = ""
    aliases: list[str] = field(default_factory=list)
    key: str = ""
    parent: str = ""  # "" : not yet placed (ignored when editing)


def split_aliases(text: str) -> list[str]:
    """Aliases typed as one line: commas (`,` `，` `、`) separate them."""
    for sep in "，、":
        text = text.replace(sep, ",")
    return [a.strip() for a in text.split(",") if a.strip()]


def parent_path(codebook: Codebook, path: list[str]) -> Text:
    """The parent picked so far, as a path of names (untrusted: plain Text, cleaned)."""
    if not path or path == [UNPLACED]:
        return Text(NOT_PLACED, style="italic")
    names = [clean(n.name, oneline=True) for n in codebook.lineage(path[-1])] if codebook.node(path[-1]) else []
    return Text(" › ".join(names), style="bold")


def refused(exc: Exception) -> str:
    """The one sentence a change refused by the project or by the codebook's rules shows."""
    if isinstance(exc, WriteRefused):
        return READONLY_DECISIONS if exc.kind == "readonly" else f"The decision was NOT saved. {clean(str(exc))}"
    return clean(str(exc), oneline=True)  # it may quote a name from another coder's file


def changed_fields(node: Code, v: CodeFormValues) -> dict[str, Any]:
    """Only what the coder changed in the form (a code edit names just those fields)."""
    fields: dict[str, Any] = {}
    if " ".join(v.name.split()) != node.name:
        fields["name"] = v.name
    if v.definition.strip() != node.definition:
        fields["definition"] = v.definition
    if tuple(v.aliases) != node.aliases:
        fields["aliases"] = v.aliases
    if v.key and v.key != node.key:
        fields["key"] = v.key
    return fields


class ParentField(Static, can_focus=True):
    """The new code's parent, walked with the picker's keys: a digit picks a category, letters go down.

    Backspace goes up a level; `0` (or Backspace at the top) means not yet placed.
    """

    class Changed(Message):
        """The coder picked another parent."""

    def __init__(self, codebook: Codebook, path: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.codebook = codebook
        self.path = [p for p in path if p]

    @property
    def chosen(self) -> str:
        """The parent id the change should name ("" : not yet placed)."""
        return "" if not self.path or self.path[-1] == UNPLACED else self.path[-1]

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Show the path, and the keys that change it while the field has the focus."""
        out = parent_path(self.codebook, self.path)
        out.append("   keys walk · ⌫ up", style="dim")
        self.update(out)

    def on_key(self, event: events.Key) -> None:
        """The picker's keys: they walk the tree; Enter and Tab keep their form meaning."""
        if event.key in ("enter", "tab", "shift+tab", "escape"):
            return
        event.stop()
        event.prevent_default()
        if event.key == "backspace":
            self.path = self.path[:-1]
        elif event.character and event.character.isprintable():
            self._walk(event.character)
        self.redraw()
        self.post_message(self.Changed())

    def _walk(self, char: str) -> None:
        cb = self.codebook
        if char == "0":
            self.path = [UNPLACED]
            return
        here = self.path[-1] if self.path else None
        level = cb.children(here) if here is None or cb.node(here) is not None else ()
        child = next((c for c in level if c.key == char), None)
        if child is None and char.isdigit():  # a category key starts again from the top
            child = next((c for c in cb.categories if c.key == char), None)
        if child is None:
            self.app.bell()
            return
        self.path = [n.id for n in cb.lineage(child.id)]


class CodeForm(ModalScreen[bool]):
    """Create or refine a code; Enter submits, Esc closes without changing anything.

    `submit` makes the change (checked, committed) and returns None, or the one sentence that says
    why it was refused; the form then stays open with what the coder typed.
    """

    BINDINGS = [
        B("escape", "cancel", "Cancel", "code_form.cancel", "Close the form; nothing is changed"),
        # Priority: checked when the key is read, so text typed right after Tab lands in the next field.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="code_form.next",
                tooltip="The next field"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="code_form.previous", tooltip="The previous field"),
    ]
    TAKES_BURST = True
    """Keys typed in one burst with the key that opened the form are passed on to it (see key_burst)."""

    def __init__(self, title: str, codebook: Codebook, submit: Callable[[CodeFormValues], str | None], *,
                 values: CodeFormValues | None = None, parent: list[str] | None = None, category: bool = False,
                 propose: Callable[[str, str], str | None] | None = None) -> None:
        super().__init__()
        self.form_title = title
        self.codebook = codebook
        self.submit = submit
        self.values = values or CodeFormValues()
        self.creating = values is None
        self.category = category
        self.parent_start = parent  # None: no parent field (editing, or a category)
        self.propose = propose

    def compose(self) -> ComposeResult:
        v = self.values
        with Vertical(id="form-box"):
            yield Static(Text(clean(self.form_title, oneline=True), style="bold"), id="form-title")
            yield from self._row("Name", Input(v.name, id="form-name", max_length=200, select_on_focus=False))
            yield from self._row("Definition", Input(v.definition, id="form-definition", max_length=5000,
                                                     placeholder=DRAFT_NOTE, select_on_focus=False))
            if not self.category:
                yield from self._row("Aliases", Input(", ".join(v.aliases), id="form-aliases",
                                                      placeholder="comma-separated, English or 中文",
                                                      select_on_focus=False))
            yield from self._row("Key", Input(v.key, id="form-key", max_length=1, select_on_focus=False))
            if self.parent_start is not None:
                yield from self._row("Parent", ParentField(self.codebook, self.parent_start, id="form-parent"))
            yield Static(id="form-keys")
            yield Static(Text("Enter saves · Tab next field · Esc cancels; a definition left empty is a draft, "
                              "to be written before the post is done.", style="dim"), id="form-help")
            yield Static(id="form-error")

    def _row(self, label: str, widget: Input | ParentField) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Static(label, classes="form-label")
            yield widget

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#form-name", Input))
        self._update_key()

    @on(Input.Changed)
    @on(ParentField.Changed)
    def _changed(self) -> None:
        self._update_key()

    def _update_key(self) -> None:
        """Show, live, the key the new code would get and the keys that will reach it."""
        name = self.query_one("#form-name", Input).value
        key_input = self.query_one("#form-key", Input)
        parent = self._chosen_parent()
        out = Text()
        if self.creating and self.propose is not None:
            proposed = self.propose(name, parent) or ""
            key_input.placeholder = proposed or "none free"
            key = key_input.value or proposed
            if not self.category:
                where = self.codebook.keys(parent) if parent and self.codebook.node(parent) else "0"
                out.append(f"keys to reach it: {where}{key}" if key else "no free key here", style="cyan")
            else:
                out.append(f"category key: {key}" if key else "no free category key", style="cyan")
        self.query_one("#form-keys", Static).update(out)

    def _chosen_parent(self) -> str:
        fields = self.query(ParentField)
        return fields.first(ParentField).chosen if fields else ""

    def read(self) -> CodeFormValues:
        """The values as typed."""
        aliases = self.query("#form-aliases")
        return CodeFormValues(
            name=self.query_one("#form-name", Input).value,
            definition=self.query_one("#form-definition", Input).value,
            aliases=split_aliases(aliases.first(Input).value) if aliases else [],
            key=self.query_one("#form-key", Input).value.strip(),
            parent=self._chosen_parent())

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def on_key(self, event: events.Key) -> None:
        """Enter on the parent field saves too; keys typed before the name field had the focus go into it."""
        if event.key == "enter" and isinstance(self.focused, ParentField):
            event.stop()
            self.action_save()
        elif event.is_printable and event.character:
            # Typed in one burst with the key that opened the form: it reached this screen before a field
            # had the focus (or the screen below passed it on). The field with the focus, else the name, takes it.
            event.stop()
            field = self.focused if isinstance(self.focused, (Input, ParentField)) else self.query_one("#form-name")
            field.post_message(events.Key(event.key, event.character))

    def action_save(self) -> None:
        """Make the change; a refusal is told in its one sentence and the form stays open."""
        problem = self.submit(self.read())
        if problem is None:
            self.dismiss(True)
            return
        self.query_one("#form-error", Static).update(Text(problem, style="bold red"))
        self.notify(problem, severity="error", timeout=8, markup=False)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(False)
