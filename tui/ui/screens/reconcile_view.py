"""How one disputed post is drawn on the reconciliation screen: each coder's column and the summary."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tui.core.codebook.model import Codebook
from tui.core.project.store import Store
from tui.core.safe import clean
from tui.core.sync.consensus import RELEVANCE_ITEM, CoderView, Disagreement


def code_name(codebook: Codebook, code_id: str) -> str:
    """A code's path in the codebook, or its id marked as unknown."""
    if codebook.node(code_id) is None:
        return f"{code_id} (not in the codebook)"
    return codebook.path_str(code_id)


def coder_keys(i: int) -> str:
    """The keys that keep the i-th coder's decisions, as shown over their column."""
    return ("a·" if i == 0 else "b·" if i == 1 else "") + (str(i + 1) if i < 9 else "")


def render_view(view: CoderView, d: Disagreement, codebook: Codebook, i: int, hidden: bool,
                masked: Any = lambda s: s) -> Text:
    """One coder's column: relevance, codes (disputed ones highlighted), memo and quotes."""
    disputed = {x.item for x in d.disputed}
    out = Text()
    out.append(f" {coder_keys(i)} ", style="bold reverse")
    out.append(" " + clean(view.coder, oneline=True), style="bold")
    if view.flagged:
        out.append("  ⚑ flagged", style="yellow")
    out.append("\n")
    rel = "relevant" if view.relevant else "not relevant"
    if view.relevance is None and view.relevant:
        rel += " (from codes)"
    if RELEVANCE_ITEM in disputed:
        out.append("≠ " + rel, style="bold black on yellow")
    else:
        out.append("= " + rel, style="dim")
    out.append("\n\n")
    out.append("Codes\n", style="underline")
    if not view.codes:
        out.append("  none\n", style="dim italic")
    for code_id in view.codes:
        if code_id in disputed:
            out.append("≠ " + clean(code_name(codebook, code_id), oneline=True), style="bold black on yellow")
        else:
            out.append("= " + clean(code_name(codebook, code_id), oneline=True))
        out.append("\n")
    for x in d.disputed:
        if x.item != RELEVANCE_ITEM and view.coder in x.missing_from:
            out.append("− " + clean(x.name, oneline=True) + "\n", style="dim strike")
    if hidden:
        if view.memo or view.quotes:
            out.append("\nMemo and quotes are hidden with the post text.\n", style="dim italic")
        return out
    if view.memo:
        out.append("\nMemo\n", style="underline")
        out.append(clean(masked(view.memo)) + "\n")
    if view.quotes:
        out.append("\nQuotes\n", style="underline")
        for q in view.quotes:
            out.append("“" + clean(masked(q.text), oneline=True) + "”", style="italic")
            if q.code_id:
                out.append(" → " + clean(code_name(codebook, q.code_id), oneline=True), style="dim")
            out.append("\n")
    return out


def render_summary(store: Store, codebook: Codebook, d: Disagreement) -> Text:
    """What is disputed (and by whom), what all agreed on, and the consensus so far."""
    out = Text()
    out.append(f"{d.count} disputed: ", style="bold")
    for i, x in enumerate(d.disputed):
        out.append(("  ·  " if i else "") + clean(x.name, oneline=True), style="bold yellow")
        out.append(" (" + clean(", ".join(x.chosen_by) or "nobody", oneline=True) + ")", style="dim")
    out.append("\nAgreed: ", style="bold")
    out.append(clean(", ".join(code_name(codebook, c) for c in d.agreed) or "no code", oneline=True))
    st = store.state("consensus", d.post_id)
    out.append("\nConsensus: ", style="bold")
    if not st.n_events:
        out.append("not yet decided", style="dim")
        return out
    out.append(("relevant" if st.relevance != 0 else "not relevant") + "; ")
    codes = sorted(codebook.resolve(c) or c for c in st.codes)
    out.append(clean(", ".join(code_name(codebook, c) for c in codes) or "no code", oneline=True))
    if st.reconcile:
        r = st.reconcile
        out.append("  (" + clean(f"{r.get('choice', '')} {r.get('coder', '')}".strip() + ", "
                                 + str(r.get("type", "")) + (": " + str(r["note"]) if r.get("note") else ""),
                                 oneline=True) + ")", style="dim")
    return out
