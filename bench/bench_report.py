"""The full report over 100,000 posts and 200,000 events, against a plain SELECT of every event."""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.paths import bundled_codebook
from tui.core.project.events import Event
from tui.core.project.store import Store
from tui.core.report import analyses as R

GOAL_S = 5.0


def build(path: Path, n_posts: int, n_events: int, seed: int = 3) -> Store:
    """A project with `n_posts` posts and about `n_events` coding events by two coders."""
    rng = random.Random(seed)
    cb = load_codebook(bundled_codebook())
    leaves = [c.id for c in cb.codes()]
    store = Store(path)
    taken: set[str] = set()
    with store.db.conn:
        store.db.conn.executemany(
            "INSERT INTO posts (id, platform, platform_id, label, title, text, text_hash)"
            " VALUES (?, 'xhs', ?, ?, '', ?, '')",
            ((i, f"{i:024x}", Store.new_label(taken), "被骗到缅北 @某人 高薪招聘") for i in range(1, n_posts + 1)))
        store.db.conn.executemany(
            "INSERT INTO suggestions (post_id, kind, code_id, score) VALUES (?, 'relevance', '', ?)",
            ((i, rng.random()) for i in range(1, n_posts + 1)))
    events: list[Event] = []
    base = 1_700_000_000
    post = 0
    while len(events) < n_events:
        post = post % n_posts + 1
        relevant = rng.random() < 0.7
        codes = rng.sample(leaves, rng.choice((1, 1, 2, 3)))
        for coder in ("alice", "bob"):
            at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base + post * 60 + (coder == "bob")))
            events.append(Event(coder, post, "relevance", value="1" if relevant else "0", at=at))
            if relevant:
                if coder == "bob" and rng.random() < 0.15:  # most posts agreed, some left to reconcile
                    codes = rng.sample(leaves, 1)
                for code in codes:
                    events.append(Event(coder, post, "code_add", code_id=code, at=at))
                events.append(Event(coder, post, "done", value="1", at=at))
                if rng.random() < 0.1:
                    events.append(Event(coder, post, "quote_add", code_id=code, at=at,
                                        value=json.dumps({"start": 0, "end": 6, "text": "被骗到缅北 @某人"})))
    store.record_many(events[:n_events])
    return store


def main(n_posts: int = 100_000, n_events: int = 200_000) -> None:
    """Build the project, then time the baseline, the analyses, and `qualtui report all -o report.md`."""
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "bench.db"
        t = time.perf_counter()
        store = build(db, n_posts, n_events)
        built = time.perf_counter() - t
        cb = load_codebook(bundled_codebook())

        t = time.perf_counter()
        rows = store.db.conn.execute("SELECT * FROM events").fetchall()
        baseline = time.perf_counter() - t

        t = time.perf_counter()
        data = R.ReportData.load(store, cb)
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        R.frequencies(data, cb)
        R.cooccurrence(data, cb)
        R.saturation(data, cb)
        R.quotes(data, cb)
        R.screening(data, cb, store, arm="all")  # the synthetic decisions carry no arm
        analyses = time.perf_counter() - t
        store.close()

        out = Path(d) / "report.md"
        t = time.perf_counter()
        result = CliRunner().invoke(cli, ["--db", str(db), "report", "all", "-o", str(out)])
        full = time.perf_counter() - t
        if result.exit_code != 0:
            raise SystemExit(result.output)
    print(f"project: {n_posts:,} posts, {len(rows):,} events (built in {built:.1f} s)")
    print(f"plain SELECT * FROM events (baseline): {baseline:.2f} s")
    print(f"load + derive states (one pass):       {loaded:.2f} s")
    print(f"all five analyses on loaded data:      {analyses:.2f} s")
    print(f"qualtui report all -o report.md:       {full:.2f} s  (goal < {GOAL_S:.0f} s)")
    print(f"ratio full report / baseline:          {full / baseline:.1f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3] if a.isdigit()))  # bench/run.py passes benchmark names through
