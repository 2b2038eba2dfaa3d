"""Prompts: the screening and per-code prompts built from the codebook, the text a model sees, and their hashes.

A prompt handed to a backend is a template with one `SLOT` where the post goes; its hash (with
`METHOD`) is part of every cache key, so a changed prompt is scored afresh.
"""

from __future__ import annotations

import hashlib
import math
from itertools import zip_longest
from typing import Any

from tui.core.codebook.model import render_template
from tui.core.prelabel.errors import PrelabelError

__all__ = [
    "ELLIPSIS", "METHOD", "SLOT", "code_template", "code_text", "code_text_hash", "post_text", "prompt_hash",
    "screening_template", "split_template", "truncate_middle",
]

SLOT = "\x00post\x00"
"""Where the post goes in a prompt handed to a backend; a codebook can never contain NUL."""

METHOD = "next-token-0/1:v1"  # part of every prompt hash: change it when scoring changes meaning
ELLIPSIS = " … "  # what stands for the cut-out middle of a post too long for the model
HEAD_SHARE = 2 / 3  # of a truncated post: the first two thirds of the budget, then the last third


def screening_template(codebook: Any) -> str:
    """The codebook's screening prompt with examples and labels filled in and a slot for the post."""
    scr = getattr(codebook, "screening", None)
    if scr is None:
        raise PrelabelError("The codebook has no `screening:` section, so there is no prompt to screen with.")
    if "{post}" not in scr.prompt:
        raise PrelabelError(
            "The screening prompt in the codebook has no {post} placeholder, so the post would never reach the model."
        )
    # Alternate the labels (keeping the codebook's order within each) so no answer wins by recency.
    pos = [e for e in scr.examples if int(e.label) == 1]
    neg = [e for e in scr.examples if int(e.label) != 1]
    mixed = [e for pair in zip_longest(pos, neg) for e in pair if e is not None]
    examples = "\n\n".join(_example(scr.prompt, e.text.strip(), int(e.label)) for e in mixed)
    labels = {k: v.name for k, v in getattr(scr, "labels", {}).items()}
    return render_template(scr.prompt, {
        "examples": examples, "label0": labels.get("0", "irrelevant"), "label1": labels.get("1", "relevant"),
        "post": SLOT,
    })


def _example(prompt: str, text: str, label: int) -> str:
    """A few-shot example in the same shape as the question that ends the prompt, answered."""
    at = prompt.find("{examples}")
    block = prompt[at + len("{examples}"):].strip() if at >= 0 else ""
    if "{post}" not in block or "{examples}" in block:
        return f"Post:\n{text}\nAnswer: {label}"
    # Fill {post} alone, so an example's own braces stay literal and other placeholders stay unfilled.
    return render_template(block, {"post": text}) + f" {label}"


def code_template(codebook: Any, code: Any) -> str:
    """The yes/no prompt for one code, with a slot for the post."""
    pre = getattr(codebook, "prelabel", None)
    if pre is None or "{post}" not in pre.code_prompt:
        raise PrelabelError("The codebook's prelabel.code_prompt is missing or has no {post} placeholder.")
    return render_template(pre.code_prompt, {
        "code": code.name, "definition": code.definition, "aliases": ", ".join(code.aliases),
        "category": codebook.path(code.id)[0], "path": codebook.path_str(code.id), "post": SLOT,
    })


def code_text(codebook: Any, code: Any) -> str:
    """What a code's embedding is computed from: 'path: definition (aliases)'."""
    aliases = f" ({', '.join(code.aliases)})" if code.aliases else ""
    return f"{codebook.path_str(code.id)}: {code.definition}{aliases}"


def post_text(post: dict[str, Any]) -> str:
    """Title and body as the model sees them; a title that merely repeats the body's start is left out."""
    title, text = (post.get("title") or "").strip(), (post.get("text") or "").strip()
    if title and not text.startswith(title.rstrip("…. ")):
        return f"{title}\n{text}".strip()
    return text or title


def prompt_hash(*parts: str) -> str:
    """The cache key of a prompt (with the scoring method, so a change of method re-scores)."""
    return hashlib.sha256("\x00".join((METHOD, *parts)).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def code_text_hash(text: str) -> str:
    """The embeddings-cache key of a code's text (see `code_text`)."""
    return hashlib.sha256(("code\x00" + text).encode("utf-8")).hexdigest()[:32]


def split_template(template: str) -> tuple[str, str]:
    """The text before and after the post slot; the slot must occur exactly once."""
    n = template.count(SLOT)
    if n != 1:
        raise PrelabelError(
            "The prompt template has no {post} placeholder, so the post would never reach the model."
            if n == 0 else "The prompt template must contain {post} exactly once."
        )
    before, after = template.split(SLOT)
    return before, after


def truncate_middle(n_tokens: int, budget: int, marker: int) -> tuple[int, int] | None:
    """(head, tail) token counts to keep when n_tokens exceed budget (marker tokens go between); None if it fits."""
    if n_tokens <= budget:
        return None
    keep = max(2, budget - marker)
    head = max(1, math.ceil(keep * HEAD_SHARE))
    return head, max(1, keep - head)
