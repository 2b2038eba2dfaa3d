"""A coder's queue: which posts to code, in which order, and where to resume."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tui.core.project.store import Store
from tui.core.project.undo import active_events


class SampleError(Exception):
    """A sample that cannot be drawn."""


@dataclass(frozen=True)
class Sampled:
    """What `draw_sample` did."""

    pool: int
    added: int
    queued: int


def candidate_ids(store: Store, *, coder: str, where: str, threshold: float = 0.5) -> list[int]:
    """Post ids eligible for a sample, in platform-id order.

    Labels are random per project; platform ids are not, so two coders who imported the same crawl
    into their own projects draw the same posts with the same seed.
    """
    order = "platform, platform_id"
    if where == "all":
        return store.post_ids(order=order)
    if where == "relevant":
        ids = [r[0] for r in store.db.conn.execute(
            "SELECT p.id FROM posts p JOIN suggestions s ON s.post_id = p.id AND s.kind = 'relevance'"
            " WHERE s.score >= ? ORDER BY p.platform, p.platform_id", (threshold,))]
        if not ids and not store.db.conn.execute("SELECT 1 FROM suggestions LIMIT 1").fetchone():
            raise SampleError("No post has been screened by the model yet: run `qualtui prelabel` first, "
                              "or sample with --where all.")
        return ids
    if where == "unscreened":
        screened = {pid for pid, st in store.states(coder).items() if st.relevance is not None}
        return [pid for pid in store.post_ids(order=order) if pid not in screened]
    raise SampleError(f"Unknown --where {where!r}: use relevant, unscreened or all.")


def draw_sample(store: Store, *, coder: str, n: int, seed: int, where: str = "all",
                threshold: float = 0.5, append: bool = False) -> Sampled:
    """Fill the coder's queue with `n` posts drawn at random with `seed` (reproducible)."""
    if not coder.strip():
        raise SampleError("A coder name is needed (--coder NAME).")
    if store.count_posts() == 0:
        raise SampleError("The project has no posts yet: run `qualtui import FILE` first.")
    pool = candidate_ids(store, coder=coder, where=where, threshold=threshold)
    existing = store.queue(coder) if append else []
    have = set(existing)
    pool = [pid for pid in pool if pid not in have]
    if not pool:
        raise SampleError(f"No {where} posts left to sample for {coder}.")
    picked = random.Random(seed).sample(pool, min(n, len(pool)))
    store.set_queue(coder, existing + picked, seed=seed)
    return Sampled(pool=len(pool), added=len(picked), queued=len(existing) + len(picked))


def work_list(store: Store, coder: str) -> list[int]:
    """The posts the coder walks: their queue, or every post in label order without one."""
    return store.queue(coder) or store.post_ids()


def resume_index(store: Store, coder: str, posts: list[int]) -> int:
    """Where to open: the post last touched if unfinished, else the next unfinished one after it."""
    if not posts:
        return 0
    row = store.db.conn.execute(
        "SELECT post_id FROM events WHERE coder = ? AND post_id IS NOT NULL ORDER BY seq DESC LIMIT 1", (coder,)
    ).fetchone()
    finished = store.finished_posts(coder)
    start = 0
    if row is not None and row[0] in posts:
        start = posts.index(row[0])
    n = len(posts)
    for step in range(n):
        i = (start + step) % n
        if posts[i] not in finished:
            return i
    return start


def relevance_by_post(store: Store, coder: str) -> dict[int, int]:
    """The coder's standing relevance decision (0 or 1) on every post they screened."""
    cols = ("id", "post_id", "kind", "value", "ref", "at")
    rows = [dict(zip(cols, r, strict=True)) for r in store.db.conn.execute(
        "SELECT id, post_id, kind, value, ref, at FROM events"
        " WHERE coder = ? AND kind IN ('relevance', 'undo', 'redo')", (coder,))]
    out: dict[int, int] = {}
    for r in active_events(rows):
        out[r["post_id"]] = int(r["value"] == "1")
    return out
