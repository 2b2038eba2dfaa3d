"""The axial-coding screen: the codebook's tree with counts, and every change to it by keyboard.

Changes made here belong to no post (`on_post=False`); a split's choices are ordinary decisions on
the posts of its queue. A refused change is told in its one sentence and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import NoBinding
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.core.codebook.model import UNPLACED, Category, Code, CodebookNode
from tui.core.coding.code_counts import count_codes, read_codings
from tui.core.coding.open_coding import (
    create_code,
    edit_code,
    key_for_new,
    merge_codes,
    move_code,
    retire_code,
)
from tui.core.coding.session import SessionError
from tui.core.project.store import WriteRefused
from tui.core.safe import clean
from tui.ui.screens.axial_keys import AXIAL_BINDINGS
from tui.ui.screens.axial_split import AxialBase, end_split, show_post
from tui.ui.screens.axial_view import detail_text, row_text, tree_rows
from tui.ui.screens.code_form import CodeForm, CodeFormValues, changed_fields, refused
from tui.ui.screens.coding_view import CodingView
from tui.ui.screens.key_burst import hold_burst, open_in_turn, pass_on

FORM_OPENERS = {"new_code", "new_category", "edit", "split"}
TREE_ACTIONS = {"new_code", "new_category", "edit", "move", "merge", "split", "retire", "toggle_retired"}


class AxialScreen(AxialBase):
    """The whole tree (categories, codes, sub-codes, the "not yet placed" bin) and the keys that reshape it."""

    BINDINGS = AXIAL_BINDINGS
    TAKES_BURST = True
    """Keys typed in one burst with `A` reach this screen, not the coding screen below."""

    def compose(self) -> ComposeResult:
        yield Static(id="ax-title")
        yield OptionList(id="ax-tree")
        yield Static(id="ax-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.set_focus(self.tree_list)  # now: keys typed with `A` are already on their way
        self.codings = read_codings(self.session.store)  # once: a codebook change only counts them again
        self.refresh_tree()
        self.set_interval(1.0, self.recheck_hidden)

    # ------------------------------------------------------------ drawing

    def refresh_tree(self, select: str | None = None) -> None:
        """Rebuild the tree from the codebook in force now, with fresh counts; keep the cursor's line."""
        s = self.session
        keep = select or self.cursor
        self.counts = count_codes(self.codings, s.codebook, s.coder)
        t = self.tree_list
        t.clear_options()
        width = max(40, self.size.width - 4)
        rows = tree_rows(s.codebook, self.show_retired)
        t.add_options([Option(row_text(s.codebook, r, self.counts, width), id=r.id) for r in rows])
        ids = [r.id for r in rows]
        current = s.codebook.resolve(keep) if keep else None
        t.highlighted = ids.index(current) if current in ids else 0 if ids else None
        self.refresh_detail()

    def refresh_detail(self) -> None:
        """The title line (what the keys do now) and the pane under the tree."""
        s = self.session
        title = Text("Axial coding", style="bold")
        n_cat, n_code, n_sub = s.codebook.counts()
        title.append(f"  {n_cat} categories · {n_code} codes · {n_sub} sub-codes · posts: yours · all", style="dim")
        detail = self.query_one("#ax-detail", Static)
        if self.mode in ("move", "merge") and self.source:
            name = clean(self._node_name(self.source), oneline=True)
            what = "Move" if self.mode == "move" else "Merge"
            where = "its new parent" if self.mode == "move" else "the code to merge it into"
            title = Text(f"{what} ", style="bold reverse")
            title.append(f" {name}: put the cursor on {where} and press Enter; Esc cancels.", style="bold")
        if self.mode == "split":
            self._show_split(detail)
        elif self.cursor is not None:
            detail.update(detail_text(s.codebook, self.cursor, self.counts, self.host.masker()))
        else:
            detail.update("")
        self.query_one("#ax-title", Static).update(title)

    def _node_name(self, node_id: str) -> str:
        node = self.session.codebook.node(node_id)
        return node.name if node is not None else node_id

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        if self.mode != "split":
            self.refresh_detail()

    # ------------------------------------------------------------ keys

    def on_key(self, event: events.Key) -> None:
        """A key that opens a form opens it in turn with the keys typed around it (see key_burst)."""
        if hold_burst(self, event) or pass_on(self, event):
            return
        try:
            bindings = self._bindings.get_bindings_for_key(event.key)
        except NoBinding:
            return
        for binding in bindings:
            if binding.action in FORM_OPENERS and self.check_action(binding.action, ()):
                event.stop()
                event.prevent_default()
                open_in_turn(self, getattr(self, f"action_{binding.action}"))
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "split_choice":
            return self.mode == "split"
        if action == "here":
            return self.mode in ("move", "merge")
        if action in TREE_ACTIONS:
            return self.mode == "tree"
        return True

    def action_cursor(self, step: int) -> None:
        """Move the cursor up or down the tree."""
        t = self.tree_list
        if t.option_count:
            t.highlighted = max(0, min(t.option_count - 1, (t.highlighted or 0) + step))

    def action_help(self) -> None:
        """All keys of this screen."""
        from tui.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_back(self) -> None:
        """Stop moving, merging or splitting; from the tree, back to coding."""
        if self.mode == "split":
            self._end_split("Split stopped.")
        elif self.mode != "tree":
            self.mode, self.source = "tree", None
            self.refresh_detail()
        else:
            self.post_message(CodingView.PostHidden())
            self.dismiss(None)

    def _change(self, do: Callable[[], Any], select: str | None = None) -> bool:
        """Make one change; a refusal is told in its one sentence (nothing written) and False returned."""
        try:
            do()
        except (SessionError, WriteRefused) as exc:
            self.notify(refused(exc), severity="error", timeout=8, markup=False)
            return False
        self.refresh_tree(select)
        return True

    def _code_under_cursor(self, what: str) -> Code | None:
        node = self.session.codebook.node(self.cursor or "")
        if isinstance(node, Code):
            return node
        self.notify(f"Put the cursor on a code to {what} it.", timeout=3, markup=False)
        return None

    def _parent_path(self) -> list[str]:
        cursor = self.cursor or UNPLACED
        node = self.session.codebook.node(cursor)
        return [n.id for n in self.session.codebook.lineage(cursor)] if node is not None else [UNPLACED]

    def action_new_code(self) -> None:
        """A new code under the line the cursor is on (its parent can still be changed in the form)."""
        s = self.session

        def submit(v: CodeFormValues) -> str | None:
            made: list[CodebookNode] = []
            ok = self._submit(lambda: made.append(create_code(
                s, v.name, definition=v.definition, aliases=v.aliases, parent=v.parent, key=v.key,
                assign=False, on_post=False)))
            if ok is None:
                self.refresh_tree(made[0].id)
            return ok

        self.app.push_screen(CodeForm("New code", s.codebook, submit, parent=self._parent_path(),
                                      propose=lambda name, p: key_for_new(s, name, p)))

    def action_new_category(self) -> None:
        """A new category at the top of the tree."""
        s = self.session

        def submit(v: CodeFormValues) -> str | None:
            made: list[CodebookNode] = []
            ok = self._submit(lambda: made.append(create_code(
                s, v.name, definition=v.definition, key=v.key, category=True, assign=False, on_post=False)))
            if ok is None:
                self.refresh_tree(made[0].id)
            return ok

        self.app.push_screen(CodeForm("New category", s.codebook, submit, category=True,
                                      propose=lambda name, _: key_for_new(s, name, category=True)))

    def _submit(self, do: Callable[[], Any]) -> str | None:
        try:
            do()
        except (SessionError, WriteRefused) as exc:
            return refused(exc)
        return None

    def action_edit(self) -> None:
        """Rename the node under the cursor, edit its definition, aliases or key (the same form)."""
        s = self.session
        node = s.codebook.node(self.cursor or "")
        if node is None:
            self.notify("Put the cursor on a category or a code to edit it.", timeout=3, markup=False)
            return
        is_cat = isinstance(node, Category)
        values = CodeFormValues(node.name, node.description if isinstance(node, Category) else node.definition,
                                [] if isinstance(node, Category) else list(node.aliases), node.key)

        def submit(v: CodeFormValues) -> str | None:
            if isinstance(node, Category):
                fields = {k: val for k, val in (("name", v.name), ("definition", v.definition), ("key", v.key))
                          if val.strip() and val.strip() != {"name": node.name, "definition": node.description,
                                                              "key": node.key}[k]}
            else:
                fields = changed_fields(node, v)
            if not fields:
                return None
            problem = self._submit(lambda: edit_code(s, node.id, on_post=False, **fields))
            if problem is None:
                self.refresh_tree(node.id)
            return problem

        self.app.push_screen(CodeForm("Edit " + s.codebook.path_str(node.id), s.codebook, submit, values=values,
                                      category=is_cat))

    def action_move(self) -> None:
        """Move the code under the cursor: the next Enter puts it under the line the cursor is then on."""
        node = self._code_under_cursor("move")
        if node is not None:
            self.mode, self.source = "move", node.id
            self.refresh_detail()

    def action_merge(self) -> None:
        """Merge the code under the cursor into the code the next Enter is on."""
        node = self._code_under_cursor("merge")
        if node is not None:
            self.mode, self.source = "merge", node.id
            self.refresh_detail()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        if self.mode in ("move", "merge"):
            self.action_here()

    def action_here(self) -> None:
        """Moving or merging: the line under the cursor is the target."""
        s, source, target = self.session, self.source, self.cursor
        if source is None or target is None:
            return
        if self.mode == "move":
            parent = "" if target == UNPLACED else target
            ok = self._change(lambda: move_code(s, source, parent, on_post=False), source)
        else:
            ok = self._change(lambda: merge_codes(s, source, target, on_post=False), target)
        if ok:
            self.mode, self.source = "tree", None
            self.refresh_detail()

    def action_retire(self) -> None:
        """Retire the code under the cursor, or bring a retired one back."""
        s = self.session
        node = s.codebook.node(self.cursor or "")
        if node is None:
            return
        self._change(lambda: retire_code(s, node.id, not node.retired, on_post=False), node.id)

    def action_toggle_retired(self) -> None:
        """Show or hide retired codes (dimmed)."""
        self.show_retired = not self.show_retired
        self.refresh_tree()

    def action_undo(self) -> None:
        """Take back the last change or decision."""
        self._history(self.session.undo, "Undone", "Nothing to undo.")

    def action_redo(self) -> None:
        """Put back what was undone."""
        self._history(self.session.redo, "Redone", "Nothing to redo.")

    def _history(self, step: Callable[[], dict[str, Any] | None], said: str, nothing: str) -> None:
        s = self.session
        try:
            target = step()
        except WriteRefused as exc:
            self.notify(refused(exc), severity="error", timeout=8, markup=False)
            return
        if target is None:
            self.notify(nothing, timeout=2, markup=False)
            return
        if target["kind"] in ("code_add", "code_remove"):
            self.codings = read_codings(s.store)  # a decision taken back or put back: its post counts again
        if self.mode == "split" and target["post_id"] in self.split["queue"]:
            self.split["i"] = self.split["queue"].index(target["post_id"])  # back to the post it was made on
        self.refresh_tree()
        self.notify(f"{said}: {target['kind'].replace('_', ' ')}", timeout=2, markup=False)

    def _show_split(self, detail: Static) -> None:
        show_post(self, detail)

    def _end_split(self, said: str) -> None:
        end_split(self, said)
