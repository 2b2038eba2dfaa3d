"""Export of a coded project as REFI-QDA `.qdpx`: time at 10,000 posts against writing the same posts as JSON
Lines, and peak memory (tracemalloc) at 2,000 and 10,000 posts to show it does not grow with the posts."""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from tui.core.codebook.loading import load_codebook
from tui.core.coding.sentences import shown_sentences
from tui.core.paths import bundled_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store, text_hash
from tui.core.report.qdpx import export_qdpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_notes  # noqa: E402

GOAL_S = 10.0


def build(path: Path, n_posts: int, seed: int = 5) -> Store:
    """`n_posts` posts of about 300 characters, each coded by two coders: 1-3 codes, a quote, some memos."""
    rng = random.Random(seed)
    leaves = [c.id for c in load_codebook(bundled_codebook()).codes()]
    store = Store(path)
    taken: set[str] = set()
    notes = make_notes(n_posts, chars=300, seed=seed)
    with store.db.conn:
        store.db.conn.executemany(
            "INSERT INTO posts (id, platform, platform_id, label, title, text, posted_at, source_keyword, text_hash)"
            " VALUES (?, 'xhs', ?, ?, ?, ?, '2024-01-01T00:00:00.000Z', '缅北', ?)",
            ((i, n["note_id"], Store.new_label(taken), n["title"], n["desc"], text_hash(n["title"], n["desc"]))
             for i, n in enumerate(notes, 1)))
    events: list[Event] = []
    for i, n in enumerate(notes, 1):
        spans = shown_sentences(n["desc"]) or [(0, len(n["desc"]))]
        for coder in ("alice", "bob"):
            at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_700_000_000 + i * 60 + (coder == "bob")))
            events.append(Event(coder, i, "relevance", value="1", at=at))
            codes = rng.sample(leaves, rng.choice((1, 2, 3)))
            events += [Event(coder, i, "code_add", code_id=c, at=at) for c in codes]
            a, b = rng.choice(spans)
            events.append(Event(coder, i, "quote_add", code_id=codes[0], at=at,
                                value=json.dumps({"start": a, "end": b, "text": n["desc"][a:b]}, ensure_ascii=False)))
            if rng.random() < 0.2:
                events.append(Event(coder, i, "memo", value="备忘：" + n["desc"][:80], at=at))
            events.append(Event(coder, i, "done", value="1", at=at))
    store.record_many(events)
    return store


def baseline(store: Store, out: Path) -> None:
    """The same posts and their codes written as JSON Lines, one post at a time."""
    conn = store.db.conn
    cur = conn.execute("SELECT p.label, p.title, p.text, group_concat(e.coder || ':' || e.code_id) FROM posts p"
                       " JOIN events e ON e.post_id = p.id AND e.kind = 'code_add' GROUP BY p.id")
    with open(out, "w", encoding="utf-8") as fh:
        for label, title, text, codes in cur:
            fh.write(json.dumps({"label": label, "title": title, "text": text, "codes": codes.split(",")},
                                ensure_ascii=False) + "\n")


def peak_mib(store: Store, out: Path) -> float:
    """Peak Python memory of one export, in MiB."""
    cb = load_codebook(bundled_codebook())
    tracemalloc.start()
    export_qdpx(store, cb, out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(n_posts: int = 10_000, small: int = 2_000) -> None:
    """Build both projects, time the baseline and the export, then measure peak memory at both sizes."""
    cb = load_codebook(bundled_codebook())
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        big = build(Path(d) / "big.db", n_posts)
        little = build(Path(d) / "small.db", small)
        built = time.perf_counter() - t
        t = time.perf_counter()
        baseline(big, Path(d) / "posts.jsonl")
        base = time.perf_counter() - t
        t = time.perf_counter()
        result = export_qdpx(big, cb, Path(d) / "study.qdpx")
        took = time.perf_counter() - t
        size = (Path(d) / "study.qdpx").stat().st_size
        peaks = {small: peak_mib(little, Path(d) / "s.qdpx"), n_posts: peak_mib(big, Path(d) / "b.qdpx")}
    print(f"project: {n_posts:,} posts coded by 2 coders (built in {built:.1f} s)")
    print(f"baseline, the same posts and codes as JSON Lines: {base:.2f} s")
    print(f"export --format qdpx: {took:.2f} s  (goal < {GOAL_S:.0f} s); {result.sources:,} sources, "
          f"{result.codings:,} codings, {result.quotes:,} quotes, {result.notes:,} notes; {size / 2**20:.1f} MiB")
    print(f"ratio export / baseline: {took / base:.1f}x")
    for n, mib in peaks.items():
        print(f"peak Python memory of the export at {n:,} posts (tracemalloc): {mib:.2f} MiB")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3] if a.isdigit()))
