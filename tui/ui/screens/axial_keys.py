"""Every key of the axial-coding screen, in one table: bindings, footer, `?` and the keymap check read it."""

from __future__ import annotations

from textual.binding import BindingType

from tui.ui.screens.bindings import B

AXIAL_BINDINGS: list[BindingType] = [
    B("question_mark", "help", "Keys", "axial.help", "All keys"),
    B("escape", "back", "Back", "axial.back", "Stop moving, merging or splitting; else back to coding"),
    B("j", "cursor(1)", "Down", "axial.down", "Next line of the tree (or ↓)", show=False),
    B("k", "cursor(-1)", "Up", "axial.up", "Previous line of the tree (or ↑)", show=False),
    B("n", "new_code", "New code", "axial.new_code", "A new code under the line the cursor is on"),
    B("C", "new_category", "New category", "axial.new_category", "A new category", show=False),
    B("e", "edit", "Edit", "axial.edit", "Rename, edit the definition, aliases or key"),
    B("m", "move", "Move", "axial.move", "Move the code: then the cursor on its new parent and Enter"),
    B("M", "merge", "Merge", "axial.merge", "Merge the code into another: then the cursor on it and Enter"),
    B("s", "split", "Split", "axial.split", "Split the code: a new code beside it, then each of its posts in turn"),
    B("t", "retire", "Retire", "axial.retire", "Retire the code (or bring a retired one back)"),
    B("T", "toggle_retired", "Show retired", "axial.show_retired", "Show or hide retired codes", show=False),
    B("enter", "here", "Here", "axial.here", "Moving or merging: the line under the cursor is the target",
      show=False),
    B("1", "split_choice('old')", "Keep", "axial.split_old", "Splitting: the post keeps the old code", show=False),
    B("2", "split_choice('new')", "New", "axial.split_new", "Splitting: the post takes the new code instead",
      show=False),
    B("3", "split_choice('both')", "Both", "axial.split_both", "Splitting: the post carries both codes",
      show=False),
    B("u,ctrl+z", "undo", "Undo", "axial.undo", "Take back the last change or decision"),
    B("U,ctrl+y", "redo", "Redo", "axial.redo", "Put back what was undone", show=False),
]
