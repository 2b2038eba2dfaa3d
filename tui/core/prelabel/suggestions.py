"""The suggestions a coder sees: relevance and the top codes per post, and the similarity they rank codes by."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tui.core.project.events import utcnow

__all__ = [
    "LEARNED_FLOOR", "YESNO_FLOOR", "confident_codes", "similarity", "suggested_codes", "suggested_relevance",
    "write_suggestions",
]

LEARNED_FLOOR = 0.5  # a learned code score is a probability fitted on the coders' codes: 0.5 means "likelier than not"
YESNO_FLOOR = 0.8  # the model's own yes/no probability is not fitted to anything: only a clear "yes" counts


def similarity(post_vecs: ArrayLike, code_vecs: ArrayLike) -> NDArray[np.float64]:
    """Cosine similarity of posts to codes after removing the codes' mean direction (posts x codes)."""
    c = np.asarray(code_vecs, dtype=np.float64)
    mu = c.mean(axis=0) if len(c) > 1 else np.zeros(c.shape[1])
    c = c - mu
    p = np.atleast_2d(np.asarray(post_vecs, dtype=np.float64)) - mu
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    p /= np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    out: NDArray[np.float64] = p @ c.T
    return out


def write_suggestions(conn: Any, post_id: int, relevance: float | None, rel_source: str, codes: dict[str, float] | None,
                      code_source: str, levels: dict[str, int], threshold: float, top_k: int, model_hash: str,
                      prompt_hash: str) -> int:
    """Replace one post's suggestions (caller holds the transaction); code rows only for relevant posts."""
    conn.execute("DELETE FROM suggestions WHERE post_id = ?", (post_id,))
    if relevance is None:
        return 0
    now = utcnow()
    rows = [(post_id, "relevance", "", float(relevance), rel_source, model_hash, prompt_hash, now)]
    if codes and relevance >= threshold:
        for level in sorted(set(levels.values())):
            ranked = sorted((c for c in codes if levels.get(c) == level), key=lambda c: -codes[c])[:top_k]
            rows += [(post_id, "code", c, float(codes[c]), code_source, model_hash, prompt_hash, now) for c in ranked]
    conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score, source, model_hash, prompt_hash,"
                     " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def suggested_relevance(conn: Any) -> dict[int, float]:
    """post id -> the relevance score stored as its suggestion now (the model's or the learned one)."""
    return dict(conn.execute("SELECT post_id, score FROM suggestions WHERE kind = 'relevance'").fetchall())


def suggested_codes(conn: Any) -> list[tuple[int, str, float]]:
    """(post id, code id, score) of every code suggestion stored now."""
    rows: list[tuple[int, str, float]] = conn.execute(
        "SELECT post_id, code_id, score FROM suggestions WHERE kind = 'code'").fetchall()
    return rows


def confident_codes(rows: list[tuple[str, float, str]], code_method: str) -> list[str]:
    """The code ids among (code id, score, source) suggestions confident enough to set a post's severity.

    Learned scores count from LEARNED_FLOOR; the model's yes/no probabilities (code method 'yesno') from
    YESNO_FLOOR. Zero-shot similarities ('embed') only rank: on off-topic text the same code comes first
    for most posts, so they never count.
    """
    out = [c for c, score, src in rows if src == "learned" and score >= LEARNED_FLOOR]
    if code_method == "yesno":
        out += [c for c, score, src in rows if src == "llm" and score >= YESNO_FLOOR]
    return out
