"""The key picker: category → code → sub-code, each step listing keys, names and definitions."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.core.codebook.model import Category, Code, Codebook
from tui.core.safe import clean


def render_choices(codebook: Codebook, parent_id: str | None, title: str, width: int = 100) -> Text:
    """The choices under `parent_id` (None = categories) with their keys and short definitions."""
    out = Text()
    out.append(clean(title, oneline=True), style="bold")
    if parent_id is not None:
        node = codebook.node(parent_id)
        if isinstance(node, Code):
            out.append("   Enter assigns this code · Esc back", style="dim")
        else:
            out.append("   Esc back", style="dim")
    out.append("\n")
    for child in codebook.children(parent_id):
        out.append(f" {child.key} ", style="bold reverse")
        colour = codebook.lineage(child.id)[0].colour
        out.append(" ")
        out.append(clean(child.name, oneline=True), style=f"bold {colour}")
        desc = child.description if isinstance(child, Category) else child.definition
        extra = ""
        if isinstance(child, Code) and child.subcodes:
            extra = f" [{len(child.subcodes)} sub-codes]"
        room = max(0, width - len(child.name) - len(extra) - 8)
        desc = clean(desc, oneline=True)
        if room > 10 and desc:
            out.append("  " + (desc if len(desc) <= room else desc[: room - 1] + "…"), style="dim")
        if extra:
            out.append(extra, style="cyan")
        out.append("\n")
    return out


class CodePicker(Static):
    """Shows the choices of the current picker step."""
