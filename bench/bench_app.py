"""The coding app on a big project: 100,000 posts and 200,000 events.

Measures, in one process with Textual's Pilot: start-up to the first post on screen, a key press
that assigns a code (event committed and screen updated), moving to the next post, and the memory
the process holds. The baseline is a bare Textual app that shows one post in a Static, run the same way.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_notes  # noqa: E402

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Static  # noqa: E402

from tui.app import QualtuiApp  # noqa: E402
from tui.core.codebook import load_codebook  # noqa: E402
from tui.core.config import Config  # noqa: E402
from tui.core.paths import bundled_codebook  # noqa: E402
from tui.core.store import Store, new_event_id, text_hash  # noqa: E402
from tui.screens.coding import CodingScreen  # noqa: E402


def build(db: Path, n_posts: int, n_events: int) -> None:
    """A project with n_posts posts and n_events events by two coders."""
    s = Store(db)
    notes = make_notes(n_posts, chars=400)
    taken: set[str] = set()
    rows = [("xhs", n["note_id"], Store.new_label(taken), n["title"], n["desc"], "[]", "", None, "", "",
             text_hash(n["title"], n["desc"])) for n in notes]
    cb = load_codebook(bundled_codebook())
    codes = [c.id for c in cb.codes()]
    rng = random.Random(3)
    with s.db.conn:
        s.db.conn.executemany(
            "INSERT INTO posts (platform, platform_id, label, title, text, tags, author, posted_at, url,"
            " source_keyword, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        ev = []
        for i in range(n_events):
            coder = ("alice", "bob")[i % 2]
            pid = rng.randrange(1, n_posts // 2)  # the second half of the corpus stays uncoded
            ev.append((new_event_id(), coder, pid, "code_add", rng.choice(codes), "", "",
                       "2026-01-01T00:00:00.000Z", cb.hash))
        s.db.conn.executemany(
            "INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ev)
    s.close()


LATENCIES: list[tuple[str, float]] = []


def timed(name: str, method: object) -> object:
    """Wrap a screen method: from its start to the end of the next screen refresh."""

    def wrapper(self: CodingScreen, *args: object) -> object:
        t0 = time.perf_counter()
        result = method(self, *args)  # type: ignore[operator]
        self.app.call_after_refresh(lambda: LATENCIES.append((name, (time.perf_counter() - t0) * 1000)))
        return result

    return wrapper


# The picker step that assigns, moving to the next post, and a cursor move as the baseline.
CodingScreen._picker_key = timed("assign", CodingScreen._picker_key)  # type: ignore[method-assign]
CodingScreen.action_next_post = timed("next", CodingScreen.action_next_post)  # type: ignore[method-assign]
CodingScreen.action_sentence = timed("noop", CodingScreen.action_sentence)  # type: ignore[method-assign]


class Bare(App[None]):
    """Baseline: a Textual app that shows one post's text in a Static."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        s = Store(self.db)
        yield Static(s.posts(limit=1)[0]["text"], markup=False)


async def measure(db: Path, assigns: int) -> dict[str, object]:
    """Run both apps and time what a coder feels."""
    t = time.perf_counter()
    async with Bare(db).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    bare = time.perf_counter() - t

    starts = []
    for _ in range(3):
        t = time.perf_counter()
        app = QualtuiApp(Store(db), load_codebook(bundled_codebook()), "alice", mode="coding",
                         config=Config(wellbeing={"checkins": False}))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, CodingScreen) and app.session.current is not None
            starts.append(time.perf_counter() - t)

    app = QualtuiApp(Store(db), load_codebook(bundled_codebook()), "carol", mode="coding",
                     config=Config(wellbeing={"checkins": False}))
    keys = [("2", "g"), ("2", "s"), ("2", "p"), ("4", "d"), ("4", "l")]
    assign_ms, next_ms, noop_ms = [], [], []
    async with app.run_test(size=(120, 40)) as pilot:
        s = Store(db)
        for i in range(assigns):
            first, second = keys[i % len(keys)]
            await pilot.press("j")  # baseline: a key that only moves the sentence cursor
            await pilot.press(first)
            n_before = s.db.execute("SELECT count(*) FROM events").fetchone()[0]
            await pilot.press(second)
            await pilot.pause()
            assert s.db.execute("SELECT count(*) FROM events").fetchone()[0] > n_before, "not committed"
            if i % len(keys) == len(keys) - 1:
                await pilot.press("right")
                await pilot.pause()
    for name, ms in LATENCIES:
        {"noop": noop_ms, "next": next_ms, "assign": assign_ms}[name].append(ms)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"bare": bare, "starts": starts, "assign": assign_ms, "next": next_ms, "noop": noop_ms, "rss": rss}


def main(n_posts: int = 100_000, n_events: int = 200_000, assigns: int = 1000) -> None:
    """Build the project, measure, print."""
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "big.db"
        t = time.perf_counter()
        # Built in a child process, so this process's peak memory is the app's alone.
        subprocess.run([sys.executable, __file__, "--build", str(db), str(n_posts), str(n_events)], check=True)
        print(f"project: {n_posts:,} posts, {n_events:,} events (built in {time.perf_counter() - t:.1f} s, "
              f"{db.stat().st_size / 1e6:.0f} MB)")
        r = asyncio.run(measure(db, assigns))
    start = statistics.median(r["starts"])
    a = sorted(r["assign"])
    p99 = a[int(len(a) * 0.99) - 1]
    print(f"bare Textual app, first screen (baseline): {r['bare'] * 1000:.0f} ms")
    print(f"start-up to first post (median of 3):      {start * 1000:.0f} ms  ratio {start / r['bare']:.1f}x "
          "(goal < 1500 ms)")
    noop = statistics.median(r["noop"])
    print(f"a key that only moves the cursor (baseline): median {noop:.1f} ms")
    print(f"assign a code, key → committed + redrawn:  median {statistics.median(a):.1f} ms, "
          f"p99 {p99:.1f} ms over {len(a)}, ratio {statistics.median(a) / noop:.1f}x (goal < 20 / < 60 ms)")
    print(f"  assign percentiles: p50 {a[len(a)//2]:.1f}, p90 {a[int(len(a)*.9)]:.1f}, p95 {a[int(len(a)*.95)]:.1f}, "
          f"max {a[-1]:.1f} ms")
    print(f"next post:                                 median {statistics.median(r['next']):.1f} ms "
          f"over {len(r['next'])} (goal < 30 ms)")
    print(f"peak memory of the app's process:          {r['rss']:.0f} MB (posts are read one at a time)")
    print(json.dumps({"start_ms": round(start * 1000), "assign_median_ms": round(statistics.median(a), 1),
                      "assign_p99_ms": round(p99, 1), "next_median_ms": round(statistics.median(r["next"]), 1),
                      "rss_mb": round(r["rss"])}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main(*(int(x) for x in sys.argv[1:4]))
