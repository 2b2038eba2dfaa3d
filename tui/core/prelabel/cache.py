"""The model-answer cache: scores per (post text, model, prompt) and embeddings per (text, embedding recipe).

Keys are hashes of the text, so a post imported twice, or a code's text, is scored once; rows whose
prompt hash is not the current one are ignored rather than deleted (changing a prompt back is free).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.project.events import utcnow

__all__ = ["cached_scores", "cached_vectors", "embedded_posts", "put_score", "put_vector", "relevance_by_post"]

CHUNK = 500  # hashes per IN (...) query: below SQLite's limit on bound parameters


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i: i + CHUNK]


def cached_scores(conn: Any, hashes: Sequence[str], model_hash: str, prompt_hashes: dict[str, str],
                  kind: str) -> dict[str, dict[str, float]]:
    """text hash -> code id ('' for relevance) -> score, for rows whose prompt hash is current."""
    out: dict[str, dict[str, float]] = {}
    wanted = set(prompt_hashes.values())
    for part in _chunks(hashes):
        q = ",".join("?" * len(part))
        for th, code, ph, score in conn.execute(
            f"SELECT text_hash, code_id, prompt_hash, score FROM prelabel_cache WHERE model_hash = ? AND kind = ?"
            f" AND text_hash IN ({q})", (model_hash, kind, *part)):
            if ph in wanted and prompt_hashes.get(code) == ph:
                out.setdefault(th, {})[code] = score
    return out


def cached_vectors(conn: Any, hashes: Sequence[str], model_hash: str) -> dict[str, NDArray[np.float32]]:
    """text hash -> embedding, for the hashes that have one made with this embedding recipe."""
    out: dict[str, NDArray[np.float32]] = {}
    for part in _chunks(hashes):
        q = ",".join("?" * len(part))
        for th, blob in conn.execute(
            f"SELECT text_hash, vector FROM embeddings WHERE model_hash = ? AND text_hash IN ({q})",
            (model_hash, *part),
        ):
            out[th] = np.frombuffer(blob, dtype=np.float32)
    return out


def put_vector(conn: Any, th: str, model_hash: str, vec: NDArray[Any]) -> None:
    """Store one text's embedding (float32) under its text hash and embedding recipe."""
    v = np.asarray(vec, dtype=np.float32)
    conn.execute("INSERT OR REPLACE INTO embeddings (text_hash, model_hash, dim, vector) VALUES (?, ?, ?, ?)",
                 (th, model_hash, len(v), v.tobytes()))


def put_score(conn: Any, th: str, model_hash: str, prompt_hash: str, kind: str, code: str, score: float) -> None:
    """Store one model answer: relevance (code '') or one code's yes/no probability."""
    conn.execute("INSERT OR REPLACE INTO prelabel_cache (text_hash, model_hash, prompt_hash, kind, code_id, score,"
                 " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (th, model_hash, prompt_hash, kind, code, score, utcnow()))


def embedded_posts(conn: Any, embed_hash: str, model_hash: str,
                   prompt_hash: str) -> list[tuple[int, str, bytes | None, float | None]]:
    """(post id, text hash, embedding bytes or None, relevance score or None) of every post with either, by id."""
    rows: list[tuple[int, str, bytes | None, float | None]] = conn.execute(
        "SELECT p.id, p.text_hash, e.vector, c.score FROM posts p"
        " LEFT JOIN embeddings e ON e.text_hash = p.text_hash AND e.model_hash = ?"
        " LEFT JOIN prelabel_cache c ON c.text_hash = p.text_hash AND c.model_hash = ? AND c.prompt_hash = ?"
        " AND c.kind = 'relevance' AND c.code_id = ''"
        " WHERE e.vector IS NOT NULL OR c.score IS NOT NULL ORDER BY p.id",
        (embed_hash, model_hash, prompt_hash)).fetchall()
    return rows


def relevance_by_post(conn: Any, model_hash: str, prompt_hash: str) -> dict[int, float]:
    """post id -> the model's own cached relevance score, for posts that have one."""
    rows = conn.execute(
        "SELECT p.id, c.score FROM posts p JOIN prelabel_cache c ON c.text_hash = p.text_hash AND c.model_hash = ?"
        " AND c.prompt_hash = ? AND c.kind = 'relevance' AND c.code_id = ''",
        (model_hash, prompt_hash)).fetchall()
    return dict(rows)
