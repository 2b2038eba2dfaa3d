"""The code form's body: name, definition, aliases, key, parent, the live key and the error line.

The coding screen shows it inline (`InlineCodeForm`), the axial screen in a modal (`CodeForm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from tui.core.codebook.model import UNPLACED, Code, Codebook
from tui.core.project.store import READONLY_DECISIONS, WriteRefused
from tui.core.safe import clean

NOT_PLACED = "not yet placed"
DRAFT_NOTE = "empty: a draft, to be written before the post is done"
HELP = ("Enter saves · Tab next field · Esc cancels; a definition left empty is a draft, "
        "to be written before the post is done.")

FORM_BINDINGS: list[BindingType] = [
    Binding("escape", "cancel", "Cancel", id="code_form.cancel", tooltip="Close the form; nothing is changed"),
    # Priority: checked when the key is read, so text typed right after Tab lands in the next field.
    Binding("tab", "next_field", "Next field", show=False, priority=True, id="code_form.next",
            tooltip="The next field"),
    Binding("shift+tab", "previous_field", "Previous field", show=False, priority=True,
            id="code_form.previous", tooltip="The previous field"),
]
"""The form's keys, the same in the modal and inline (one id each, remappable)."""


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


class CodeFormBody(Vertical):
    """The fields of the form; `load` fills them for one code (so the inline form is built once).

    `submit` makes the change (checked, committed) and returns None, or the one sentence that says
    why it was refused; the form then stays open with what the coder typed.
    """

    def __init__(self, codebook: Codebook, saved: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.saved = saved  # the form that holds the body closes, at once (no message hop)
        self.codebook = codebook
        self.submit: Callable[[CodeFormValues], str | None] = lambda _: None
        self.propose: Callable[[str, str], str | None] | None = None
        self.creating = False
        self.category = False
        self.with_parent = False

    def compose(self) -> ComposeResult:
        yield Static(id="form-title")
        yield from self._row("Name", Input(id="form-name", max_length=200, select_on_focus=False))
        yield from self._row("Definition", Input(id="form-definition", max_length=5000, placeholder=DRAFT_NOTE,
                                                 select_on_focus=False))
        yield from self._row("Aliases", Input(id="form-aliases", placeholder="comma-separated, English or 中文",
                                              select_on_focus=False))
        yield from self._row("Key", Input(id="form-key", max_length=1, select_on_focus=False))
        yield from self._row("Parent", ParentField(self.codebook, [], id="form-parent"))
        yield Static(id="form-keys")
        yield Static(Text(HELP, style="dim"), id="form-help")
        yield Static(id="form-error")

    def _row(self, label: str, widget: Input | ParentField) -> ComposeResult:
        with Horizontal(classes="form-row", id=f"row-{widget.id}"):
            yield Static(label, classes="form-label")
            yield widget

    def load(self, title: str, codebook: Codebook, submit: Callable[[CodeFormValues], str | None], *,
             values: CodeFormValues | None = None, parent: list[str] | None = None, category: bool = False,
             propose: Callable[[str, str], str | None] | None = None) -> None:
        """Fill the fields for one code (None values: a new one) and put the focus on the name."""
        self.codebook, self.submit, self.propose = codebook, submit, propose
        self.creating, self.category, self.with_parent = values is None, category, parent is not None
        v = values or CodeFormValues()
        self.query_one("#form-title", Static).update(Text(clean(title, oneline=True), style="bold"))
        for wid, text in (("form-name", v.name), ("form-definition", v.definition),
                          ("form-aliases", ", ".join(v.aliases)), ("form-key", v.key)):
            field_ = self.query_one(f"#{wid}", Input)
            with field_.prevent(Input.Changed):
                field_.value = text
            field_.cursor_position = len(text)
        self.query_one("#row-form-aliases").display = not category
        self.query_one("#row-form-parent").display = self.with_parent
        pf = self.query_one(ParentField)
        pf.codebook, pf.path = codebook, [p for p in (parent or []) if p]
        pf.redraw()
        self.query_one("#form-error", Static).update("")
        self.update_key()
        self.screen.set_focus(self.query_one("#form-name", Input), scroll_visible=False)

    @on(Input.Changed)
    @on(ParentField.Changed)
    def _changed(self) -> None:
        self.update_key()

    def update_key(self) -> None:
        """Show, live, the key the new code would get and the keys that will reach it."""
        name = self.query_one("#form-name", Input).value
        key_input = self.query_one("#form-key", Input)
        parent = self.chosen_parent()
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
        else:
            key_input.placeholder = ""
        self.query_one("#form-keys", Static).update(out)

    def chosen_parent(self) -> str:
        """The parent picked in the parent field ("" : none, or no parent field)."""
        return self.query_one(ParentField).chosen if self.with_parent else ""

    def read(self) -> CodeFormValues:
        """The values as typed."""
        return CodeFormValues(
            name=self.query_one("#form-name", Input).value,
            definition=self.query_one("#form-definition", Input).value,
            aliases=[] if self.category else split_aliases(self.query_one("#form-aliases", Input).value),
            key=self.query_one("#form-key", Input).value.strip(),
            parent=self.chosen_parent())

    def fields(self) -> list[Input | ParentField]:
        """The fields shown, in Tab order."""
        return [w for w in self.query(".form-row > Input, .form-row > ParentField").results()
                if isinstance(w, (Input, ParentField)) and w.parent is not None and w.parent.display]

    def focus_field(self, step: int) -> None:
        """Move the focus to the next (or previous) field, round the form."""
        fields = self.fields()
        focused = self.screen.focused
        i = fields.index(focused) if focused in fields else -step
        self.screen.set_focus(fields[(i + step) % len(fields)], scroll_visible=False)  # now: the next key goes there

    def take_typed(self, event: events.Key) -> bool:
        """A printable key that reached the form before a field had the focus goes to the focused field or the name."""
        if not (event.is_printable and event.character):
            return False
        event.stop()
        event.prevent_default()
        focused = self.screen.focused
        target = focused if focused in self.fields() else self.query_one("#form-name")
        assert target is not None
        target.post_message(events.Key(event.key, event.character))
        return True

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def on_key(self, event: events.Key) -> None:
        """Enter on the parent field saves too."""
        if event.key == "enter" and isinstance(self.screen.focused, ParentField):
            event.stop()
            self.save()

    def save(self) -> None:
        """Make the change; a refusal is told in its one sentence and the form stays open."""
        problem = self.submit(self.read())
        if problem is None:
            self.saved()
            return
        self.query_one("#form-error", Static).update(Text(problem, style="bold red"))
        self.notify(problem, severity="error", timeout=8, markup=False)
