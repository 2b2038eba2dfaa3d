"""Splitting a code on the axial-coding screen: a new code beside it, then its posts one by one.

Each choice is an ordinary decision on that post (code_add, code_remove), undoable like any other.
The session walks the queue's posts and is put back where the coder was when the split ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen
from textual.widgets import OptionList, Static

from tui.core.codebook.model import UNPLACED, Code
from tui.core.coding.code_counts import CodeCount, Codings
from tui.core.coding.open_coding import create_code, key_for_new, posts_with_code
from tui.core.coding.session import Session, SessionError
from tui.core.project.store import WriteRefused
from tui.core.safe import clean
from tui.ui.screens.axial_view import split_text
from tui.ui.screens.code_form import CodeForm, CodeFormValues, refused
from tui.ui.screens.coding_view import CodingView
from tui.ui.screens.host import CodingHost

SEVERE_HIDDEN = "Today's limit on severe posts is reached, so this post's text stays hidden."


class AxialBase(Screen[None]):
    """The axial-coding screen's state, its cursor, and a split's walk through the posts of a code."""

    def __init__(self, session: Session, host: CodingHost, *, hidden: Callable[[], str | None]) -> None:
        super().__init__()
        self.session = session
        self.host = host
        self.hidden = hidden  # why the coding screen hides post text now (a break, a limit), if it does
        self.mode = "tree"  # or "move", "merge", "split"
        self.source: str | None = None  # the code being moved, merged or split
        self.show_retired = False
        self.counts: dict[str, CodeCount] = {}
        self.codings: Codings = {}  # every coder's codes per post, read once (see code_counts)
        self.split: dict[str, Any] = {}  # new, queue, i, and where the session was

    @property
    def tree_list(self) -> OptionList:
        """The tree's option list (the cursor is its highlighted line)."""
        return self.query_one("#ax-tree", OptionList)

    @property
    def cursor(self) -> str | None:
        """The id of the line under the cursor."""
        t = self.tree_list
        if t.highlighted is None or not t.option_count:
            return None
        return t.get_option_at_index(t.highlighted).id

    def refresh_tree(self, select: str | None = None) -> None:
        """Rebuild the tree (the screen draws it)."""
        raise NotImplementedError

    def refresh_detail(self) -> None:
        """Redraw the title and the pane under the tree (the screen draws them)."""
        raise NotImplementedError

    def action_split(self) -> None:
        """A new code beside the one under the cursor, then each post carrying it: keep, move or both."""
        start_split(self)

    def action_split_choice(self, choice: str) -> None:
        """Splitting: this post keeps the old code, takes the new one instead, or carries both."""
        choose(self, choice)

    def split_hidden(self) -> str | None:
        """Why the split's post text must not be shown now (the coding screen's reason, a severe limit)."""
        cur = self.session.current
        hidden = self.hidden()
        if hidden is None and cur is not None and self.host.severe_blocked(cur.post):
            hidden = SEVERE_HIDDEN
        return hidden

    def recheck_hidden(self) -> None:
        """The well-being policy may hide post text while a split shows it: redraw when that changes."""
        if self.mode == "split" and self.split.get("shown_hidden") != self.split_hidden():
            self.refresh_detail()


def start_split(screen: AxialBase) -> None:
    """Ask for the new code (beside the old one), then open the queue of the old code's posts."""
    s = screen.session
    old = s.codebook.node(screen.cursor or "")
    if not isinstance(old, Code):
        screen.notify("Put the cursor on a code to split it.", timeout=3, markup=False)
        return
    parent = old.parent_id
    path = [n.id for n in s.codebook.lineage(parent)] if parent != UNPLACED else [UNPLACED]

    def submit(v: CodeFormValues) -> str | None:
        try:
            new = create_code(s, v.name, definition=v.definition, aliases=v.aliases, parent=v.parent, key=v.key,
                              assign=False, on_post=False)
            queue = posts_with_code(s, old.id)
        except (SessionError, WriteRefused) as exc:
            return refused(exc)
        screen.refresh_tree(new.id)
        if not queue:
            screen.notify(f"Created {clean(new.name, oneline=True)}; no post of yours carries "
                          f"{clean(old.name, oneline=True)}, so there is nothing to split.", timeout=5, markup=False)
            return None
        screen.split = {"old": old.id, "new": new.id, "queue": queue, "i": 0, "posts": list(s.posts),
                        "index": s.index, "kept": 0, "moved": 0, "both": 0}
        screen.mode = "split"
        screen.refresh_detail()
        return None

    screen.app.push_screen(CodeForm(f"Split {s.codebook.path_str(old.id)}: the new code beside it", s.codebook,
                                    submit, parent=path, propose=lambda name, p: key_for_new(s, name, p)))


def _carried(screen: AxialBase, code_id: str) -> list[str]:
    """The ids on the post on screen that stand for this code (it, or a code merged into it)."""
    s = screen.session
    assert s.current is not None
    target = s.codebook.resolve(code_id)
    return [c for c in s.current.state.codes if s.codebook.resolve(c) == target]


def show_post(screen: AxialBase, detail: Static) -> None:
    """Show the queue's post (masked as on the coding screen, or not at all while text is hidden)."""
    s, sp = screen.session, screen.split
    pid = sp["queue"][sp["i"]]
    if s.current is None or s.current.post["id"] != pid:
        s.go_post(pid)
    cur = s.current
    assert cur is not None
    hidden = screen.split_hidden()
    sp["shown_hidden"] = hidden
    detail.update(split_text(s.codebook, sp["old"], sp["new"], cur.post, list(cur.state.codes),
                             (sp["i"], len(sp["queue"])), hidden, screen.host.masker(pid)))
    # The exposure clock counts the post's text only while it is on screen.
    screen.post_message(CodingView.PostHidden() if hidden else CodingView.PostShown(cur.post))


def choose(screen: AxialBase, choice: str) -> None:
    """Keep the old code, move the post to the new one, or give it both; then the next post."""
    s, sp = screen.session, screen.split
    if s.current is None or screen.split_hidden():
        screen.app.bell()  # choosing needs the post's text
        return
    pid = s.current.post["id"]
    mine = screen.codings.setdefault(s.coder, {})
    try:
        if choice in ("new", "both") and not _carried(screen, sp["new"]):
            s.add_code(sp["new"])
            mine.setdefault(sp["new"], set()).add(pid)
        if choice == "new":
            for code_id in _carried(screen, sp["old"]):
                s.remove_code(code_id)
                mine.setdefault(code_id, set()).discard(pid)
    except (SessionError, WriteRefused) as exc:
        screen.notify(refused(exc), severity="error", timeout=8, markup=False)
        return
    sp[{"old": "kept", "new": "moved", "both": "both"}[choice]] += 1
    if sp["i"] + 1 >= len(sp["queue"]):
        end_split(screen, f"Split done: {sp['moved']} moved, {sp['both']} with both, {sp['kept']} kept.")
        return
    sp["i"] += 1
    screen.refresh_tree()


def end_split(screen: AxialBase, said: str) -> None:
    """Leave the queue: the session goes back to the post the coder was on, the tree comes back."""
    s, sp = screen.session, screen.split
    s.posts[:] = sp["posts"]
    if s.posts:
        s.go(sp["index"])
    screen.mode, screen.split = "tree", {}
    screen.post_message(CodingView.PostHidden())
    screen.refresh_tree(sp.get("new"))
    screen.notify(said, timeout=4, markup=False)
