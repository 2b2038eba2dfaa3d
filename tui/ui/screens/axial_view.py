"""What the axial-coding screen draws: the tree with counts, the node under the cursor, a split's post."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from tui.core.codebook.model import UNPLACED, UNPLACED_KEY, Category, Code, Codebook, CodebookNode
from tui.core.coding.code_counts import CodeCount
from tui.core.safe import clean
from tui.ui.widgets.code_panel import category_colour

UNPLACED_NAME = "Not yet placed"
EXCERPT = 600
"""Characters of a post shown in a split's queue (enough to choose; the coding screen shows it whole)."""


@dataclass(frozen=True)
class Row:
    """One line of the tree: a node (None for the empty "not yet placed" bin) and its depth."""

    id: str
    level: int
    node: CodebookNode | None


def tree_rows(cb: Codebook, show_retired: bool) -> list[Row]:
    """Categories, codes and sub-codes in order, the "not yet placed" bin always, retired nodes if asked."""
    retired_under: dict[str, list[CodebookNode]] = {}
    retired_top: list[CodebookNode] = []
    for node in cb.retired:
        if isinstance(node, Category):
            retired_top.append(node)
        else:
            retired_under.setdefault(node.parent_id, []).append(node)
    rows: list[Row] = []

    def walk(node: CodebookNode, level: int) -> None:
        rows.append(Row(node.id, level, node))
        children: tuple[CodebookNode, ...] = node.codes if isinstance(node, Category) else node.subcodes
        if show_retired:
            children += tuple(retired_under.get(node.id, ()))
        for child in children:
            walk(child, level + 1)

    for top in cb.categories:
        walk(top, 1)
    if not any(c.id == UNPLACED for c in cb.categories):
        rows.append(Row(UNPLACED, 1, None))
    if show_retired:
        for gone in retired_top:
            walk(gone, 1)
    return rows


def row_text(cb: Codebook, row: Row, counts: Mapping[str, CodeCount], width: int = 80) -> Text:
    """One tree line: indent, key, name, this coder's posts · everyone's, a draft or retired mark."""
    out = Text("  " * (row.level - 1))
    node = row.node
    if node is None:
        out.append(f" {UNPLACED_KEY} ", style="bold reverse")
        out.append(f" {UNPLACED_NAME}", style="bold")
        out.append("  (empty)", style="dim")
        return out
    out.append(f" {node.key} ", style="dim reverse" if node.retired else "bold reverse")
    out.append(" ")
    colour = "" if node.retired else category_colour(cb, node.id)
    name = clean(node.name, oneline=True)
    room = max(10, width - 2 * row.level - 24)
    out.append(name if len(name) <= room else name[: room - 1] + "…",
               style="dim strike" if node.retired else f"bold {colour}" if row.level == 1 else colour)
    if isinstance(node, Code):
        n = counts.get(node.id, CodeCount())
        out.append(f"  {n.mine} · {n.anyone}", style="cyan")
        if not node.definition:
            out.append("  draft", style="yellow")
    if node.retired:
        out.append("  retired", style="dim italic")
    return out


def detail_text(cb: Codebook, node_id: str, counts: Mapping[str, CodeCount], mask: Callable[[str], str]) -> Text:
    """The node under the cursor: path, keys, definition, aliases, former ids (all cleaned, never markup)."""
    node = cb.node(node_id)
    if node is None:
        return Text(f"{UNPLACED_NAME}: codes created while coding that no category holds yet. "
                    "n creates one here; m moves a code here.", style="dim")
    out = Text()
    out.append(clean(cb.path_str(node.id), oneline=True), style="bold")
    out.append(f"   keys {cb.keys(node.id)}", style="cyan")
    if isinstance(node, Code):
        n = counts.get(node.id, CodeCount())
        out.append(f"   your posts {n.mine} · everyone's {n.anyone}", style="dim")
    body = node.description if isinstance(node, Category) else node.definition
    out.append("\n")
    out.append(mask(clean(body)) if body else "No definition yet (a draft): e writes it.",
               style="" if body else "yellow")
    if isinstance(node, Code) and node.aliases:
        out.append("\naliases: " + clean(", ".join(node.aliases), oneline=True), style="dim")
    if isinstance(node, Code) and node.former_ids:
        out.append("\nformer ids: " + clean(", ".join(node.former_ids), oneline=True), style="dim")
    return out


def split_text(cb: Codebook, old: str, new: str, post: dict[str, Any], codes: list[str], position: tuple[int, int],
               hidden: str | None, mask: Callable[[str], str]) -> Text:
    """A post of a split's queue: which code it should carry now; its text masked, or left out while hidden."""
    i, total = position
    out = Text()
    out.append(f"Split: post {i + 1} of {total}  ", style="bold")
    out.append(f" {clean(post.get('label', '?'), oneline=True)} ", style="bold reverse")
    out.append("   1 keep ", style="dim")
    out.append(clean(_name(cb, old), oneline=True), style="bold")
    out.append(" · 2 move to ", style="dim")
    out.append(clean(_name(cb, new), oneline=True), style="bold")
    out.append(" · 3 both · Esc stop", style="dim")
    out.append("\ncodes now: ", style="dim")
    out.append(clean(", ".join(_name(cb, c) for c in codes), oneline=True))
    out.append("\n")
    if hidden:
        out.append(clean(hidden), style="italic")  # the well-being policy hides post text: none is shown
        return out
    text = clean(post.get("text") or "")
    out.append(mask(text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"))
    return out


def _name(cb: Codebook, node_id: str) -> str:
    node = cb.node(node_id)
    return node.name if node is not None else node_id
