"""Every key of the coding screen, in one table: the bindings, the footer, `?` and the keymap check read it."""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.keys import _character_to_key

from tui.ui.screens.bindings import B
from tui.ui.widgets.code_panel import RECENT_KEYS

CATEGORY_KEYS = "1234567890"
"""Category keys that open the code picker; 1 before 0 keeps the footer order (Relevant, then Not relevant)."""

CATEGORY_HELP = ("Coding: open the category with this key; then a code letter, then a sub-code letter "
                 "(Enter assigns a code that has sub-codes, Esc backs out)")
RECENT_HELP = "Coding: assign one of the recently used codes, as numbered in the panel"


def _category(key: str) -> Binding:
    return B(key, f"open_category('{key}')", "Category", f"category_{key}", CATEGORY_HELP, show=False)


def _recent(i: int, char: str) -> Binding:
    return B(_character_to_key(char), f"assign_recent({i})", "Recent code", f"recent_{i + 1}", RECENT_HELP,
             show=False)


CODING_BINDINGS: list[BindingType] = [
    # `?` and `q` come first: a narrow footer cuts keys from the right, and these two must stay.
    B("question_mark", "help", "Keys", "help", "All keys"),
    B("q", "app.quit", "Quit", "quit", "Quit (everything is already saved)"),
    # Category keys come before 1 and 0: in coding mode a category key wins, as the codebook gave it.
    *(_category(k) for k in CATEGORY_KEYS),
    B("1", "relevant", "Relevant", "screen.relevant", "Screening: mark relevant, go to the next post"),
    B("0", "irrelevant", "Not relevant", "screen.irrelevant", "Mark not relevant, go to the next post"),
    B("m", "toggle_mode", "Mode", "mode", "Switch between screening and coding"),
    B("slash", "search", "Search", "search", "Search the codebook by name, definition or alias"),
    B("enter", "finish_post", "Done", "done", "Coding: mark the post done and go to the next one"),
    B("u,ctrl+z", "undo", "Undo", "undo", "Take back the last decision"),
    B("U,ctrl+y", "redo", "Redo", "redo", "Put back what was undone", show=False),
    B("right,l", "next_post", "Next", "next", "Next post", show=False),
    B("left,h", "previous_post", "Prev", "previous", "Previous post", show=False),
    B("g", "next_unfinished", "Next unfinished", "next_unfinished", "Next post not yet finished", show=False),
    B("j,down", "sentence(1)", "Sentence", "sentence_down", "Next sentence", show=False),
    B("k,up", "sentence(-1)", "Sentence up", "sentence_up", "Previous sentence", show=False),
    B("quotation_mark", "quote", "Quote", "quote", "Quote the highlighted sentence for a code "
      "(then the code's number when the post has several)"),
    B("e", "memo", "Memo", "memo", "Write a memo on this post"),
    B("f", "flag", "Flag", "flag", "Flag for discussion with the other coder", show=False),
    B("s", "skip", "Skip", "skip", "Skip this post for now", show=False),
    B("d", "defer", "Defer", "defer", "Put this post back in the pool, no reason needed", show=False),
    B("x", "remove_code", "Remove", "remove", "Remove a code (then its number)", show=False),
    B("n", "new_code", "New code", "new_code", "Create a code and assign it (in the picker: + creates it there)",
      show=False),
    B("E", "edit_code", "Edit code", "edit_code", "Edit a code of this post: name, definition, aliases, key "
      "(then its number when the post has several)", show=False),
    B("A", "axial", "Axial coding", "axial", "The codebook's tree with counts: create, rename, move, merge, "
      "split, retire", show=False),
    *(_recent(i, c) for i, c in enumerate(RECENT_KEYS)),
    B("a", "accept", "Accept", "accept", "Accept the highlighted suggestion", show=False),
    B("r", "reject", "Reject", "reject", "Reject the highlighted suggestion", show=False),
    B("H", "toggle_suggestions", "Hide suggestions", "suggestions", "Show or hide model suggestions", show=False),
    B("v", "reveal", "Reveal", "reveal", "Show the masked terms of this post (masking returns on the next)",
      show=False),
    B("V", "toggle_masking", "Masking", "masking", "Turn masking of graphic terms on or off", show=False),
    B("w", "wellbeing", "Well-being", "wellbeing", "Your exposure history (yours only)", show=False),
    B("R", "report", "Report", "report", "Frequencies, co-occurrence, saturation, quotes, screening", show=False),
    B("B", "take_break", "Break now", "break_now", "Start a short break now (asks first)", show=False),
    B("c", "toggle_side", "Panel", "side_panel", "Show or hide the side panel (codes, suggestions, quotes)",
      show=False),
]
