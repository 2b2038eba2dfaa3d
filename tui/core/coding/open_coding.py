"""Open coding from a session: create, refine, move, merge, split and retire codes while coding.

Each function makes one codebook change through `Session.change_codebook` (checked, committed, then in
force) and returns what the coder should see. A refused change raises SessionError with one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.core.codebook.changes import (
    CODE_CREATE,
    CODE_EDIT,
    CODE_MERGE,
    CODE_MOVE,
    CODE_RETIRE,
    Applied,
    new_node_id,
    propose_key,
)
from tui.core.codebook.model import UNPLACED, CodebookNode
from tui.core.coding.session import Session, SessionError

__all__ = ["create_code", "edit_code", "key_for_new", "merge_codes", "move_code", "posts_with_code", "retire_code"]


def key_for_new(session: Session, name: str, parent: str = "", category: bool = False) -> str | None:
    """The key a new code (or category) named `name` would get under `parent` ("" : not yet placed)."""
    cb = session.codebook
    if category:
        taken = {c.key for c in cb.categories} | {"0"}
    else:
        node = cb.node(parent or UNPLACED)
        taken = {c.key for c in cb.children(node.id)} if node is not None else set()
    return propose_key(name, taken, category)


def create_code(session: Session, name: str, *, definition: str = "", aliases: Sequence[str] = (),
                parent: str = "", key: str = "", category: bool = False, assign: bool = True,
                on_post: bool = True) -> CodebookNode:
    """Create a code (or a category) and, for a code on a post, assign it at once; returns the new node."""
    node_id = new_node_id(name)
    value: dict[str, Any] = {"name": name, "definition": definition, "aliases": list(aliases)}
    if category:
        value["category"] = True
    else:
        value["parent"] = parent
    if key:
        value["key"] = key
    session.change_codebook(CODE_CREATE, node_id, value, on_post=on_post)
    node = session.codebook.node(node_id)
    assert node is not None
    if assign and not category and session.current is not None:
        session.add_code(node_id)
    return node


def edit_code(session: Session, code_id: str, *, on_post: bool = True, **fields: Any) -> Applied:
    """Rename, redefine, set aliases, key or severity (only the fields given)."""
    return session.change_codebook(CODE_EDIT, _current(session, code_id), fields, on_post=on_post)


def move_code(session: Session, code_id: str, parent: str, *, key: str = "", on_post: bool = True) -> Applied:
    """Place a code under another category or code ("" : take it out of its category)."""
    value = {"parent": parent} | ({"key": key} if key else {})
    return session.change_codebook(CODE_MOVE, _current(session, code_id), value, on_post=on_post)


def merge_codes(session: Session, gone: str, into: str, *, on_post: bool = True) -> Applied:
    """Merge code `gone` into `into`: its codings count as `into`'s, its id becomes a former id."""
    return session.change_codebook(CODE_MERGE, _current(session, gone), {"into": into}, on_post=on_post)


def retire_code(session: Session, code_id: str, retired: bool = True, *, on_post: bool = True) -> Applied:
    """Take a code out of use (its codings keep its name), or bring it back."""
    return session.change_codebook(CODE_RETIRE, _current(session, code_id), {"retired": retired}, on_post=on_post)


def posts_with_code(session: Session, code_id: str) -> list[int]:
    """The posts of this coder that carry a code (or a code merged into it), in the coder's order: a split's queue."""
    cb = session.codebook
    target = cb.resolve(code_id)
    if target is None:
        raise SessionError(f"There is no code {code_id!r} in the codebook.")
    states = session.store.states(session.coder)
    order = {pid: i for i, pid in enumerate(session.posts)}
    found = [pid for pid, st in states.items() if any(cb.resolve(c) == target for c in st.codes)]
    return sorted(found, key=lambda pid: (order.get(pid, len(order)), pid))


def _current(session: Session, code_id: str) -> str:
    current = session.codebook.resolve(code_id)
    if current is None:
        raise SessionError(f"There is no code {code_id!r} in the codebook.")
    return current
