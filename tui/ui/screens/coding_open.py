"""Open coding on the coding screen: create a code and assign it, refine a code, open the axial-coding screen."""

from __future__ import annotations

from functools import partial

from tui.core.codebook.model import UNPLACED, Code
from tui.core.coding.open_coding import create_code, edit_code, key_for_new
from tui.core.coding.session import SessionError
from tui.core.project.store import WriteRefused
from tui.core.safe import clean
from tui.ui.screens.coding_nav import CodingNavigation
from tui.ui.widgets.code_form import CodeFormValues, changed_fields, refused


class CodingOpenCoding(CodingNavigation):
    """The keys of open coding: n (new code, assigned at once), E (edit a code of the post), A (axial coding)."""

    category_context: tuple[int, str] | None = None  # (post, category) the picker was last opened on
    edit_key = "E"  # the key that edits a code, as the form's toast names it

    def _default_parent(self) -> list[str]:
        """The picker's node if it is open, else the category last opened on this post, else not yet placed."""
        if self.picker:
            return self.picker
        cur = self.session.current
        ctx = self.category_context
        if cur is not None and ctx is not None and ctx[0] == cur.post["id"] and self.session.codebook.node(ctx[1]):
            return [ctx[1]]
        return [UNPLACED]

    def action_new_code(self, parent: list[str] | None = None) -> None:
        """Open the form for a new code; Enter creates it and assigns it to the post."""
        if self.session.current is None:
            return
        path = parent if parent is not None else self._default_parent()
        self._picker.close()
        s = self.session
        self.edit_key = self.key_of("edit_code", "E")  # read now: while the form is open the screen's keys are off
        self._form.open("New code (assigned to this post)", s.codebook, self._create, parent=path,
                        propose=lambda name, p: key_for_new(s, name, p))

    def _create(self, v: CodeFormValues) -> str | None:
        s = self.session
        before = s.saved
        try:
            node = create_code(s, v.name, definition=v.definition, aliases=v.aliases, parent=v.parent, key=v.key)
        except (SessionError, WriteRefused) as exc:
            if isinstance(exc, WriteRefused) and s.current is not None:
                self.unsaved_post = s.current.post["id"]  # the header says so, as for any decision
            if s.saved > before or isinstance(exc, WriteRefused):  # created, but its assignment was refused
                self.refresh_decisions()
            return refused(exc)
        if self.mode != "coding":
            self.mode = "coding"
        self.unsaved_post = None
        self.refresh_decisions()
        draft = "" if v.definition.strip() else f" Its definition is a draft: {self.edit_key} edits it."
        said = f"Created and assigned {clean(node.name, oneline=True)} (keys {s.codebook.keys(node.id)}).{draft}"
        # Committed and drawn in the panel first; the toast follows on the next frame.
        self.call_after_refresh(partial(self.notify, said, timeout=4, markup=False))
        return None

    def action_edit_code(self) -> None:
        """Edit a code of this post (then its number when it has several), or the code last picked."""
        cur = self.session.current
        if cur is None:
            return
        codes = [c for c in cur.state.codes if isinstance(self.session.codebook.node(c), Code)]
        if len(codes) > 1:
            self.pending_prefix = "edit"
            self.notify("Edit which code? Press its number.", timeout=4, markup=False)
            return
        target = codes[0] if codes else next(iter(self.session.recent), None)
        if target is None:
            self.notify(f"No code to edit yet: assign one, or open axial coding with "
                        f"{self.key_of('axial', 'A')}.", timeout=4, markup=False)
            return
        self.open_edit(target)

    def open_edit(self, code_id: str) -> None:
        """The form filled in with this code; Enter saves what changed."""
        node = self.session.codebook.node(code_id)
        if not isinstance(node, Code):
            self.app.bell()
            return

        def submit(v: CodeFormValues) -> str | None:
            fields = changed_fields(node, v)
            if not fields:
                return None
            try:
                edit_code(self.session, node.id, **fields)
            except (SessionError, WriteRefused) as exc:
                return refused(exc)
            self.refresh_decisions()
            self.notify(f"Saved the changes to {clean(v.name, oneline=True)}.", timeout=3, markup=False)
            return None

        values = CodeFormValues(node.name, node.definition, list(node.aliases), node.key)
        self._form.open("Edit " + self.session.codebook.path_str(node.id), self.session.codebook, submit,
                        values=values)

    def action_axial(self) -> None:
        """Open the axial-coding screen: the whole tree with counts; changes there are made on no post."""
        from tui.ui.screens.axial import AxialScreen

        s = self.session
        before = s.current.post["id"] if s.current else None
        self.post_message(self.PostHidden())  # the tree covers the post
        self.app.push_screen(AxialScreen(s, self.host, hidden=lambda: self.text_hidden),
                             lambda _: self._after_history(before))
