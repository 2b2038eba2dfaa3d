"""The coding app on a big project: 100,000 posts and 200,000 events.

Measures, in one process with Textual's Pilot: start-up to the first post on screen, a key press
that assigns a code (event committed and screen updated), Enter in the code form that creates a code
and assigns it (committed, form closed, screen updated), moving to the next post, and the memory
the process holds. The baseline is a bare Textual app that shows one post in a Static, run the same way.

`--cursor` (also run by default): moving the sentence cursor 200 times on one 20,000-character post,
against the former way of drawing it (the whole text re-rendered into one Static on every key).
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

from rich.text import Text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_notes  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.containers import VerticalScroll  # noqa: E402
from textual.widgets import Input, Static  # noqa: E402

from tui.core.codebook.loading import load_codebook  # noqa: E402
from tui.core.coding.sentences import shown_sentences  # noqa: E402
from tui.core.config import Config  # noqa: E402
from tui.core.paths import bundled_codebook  # noqa: E402
from tui.core.project.events import new_event_id  # noqa: E402
from tui.core.project.store import Store, text_hash  # noqa: E402
from tui.core.safe import clean  # noqa: E402
from tui.ui.app import QualtuiApp  # noqa: E402
from tui.ui.screens.coding import CodingScreen  # noqa: E402
from tui.ui.widgets.picker import CodePicker  # noqa: E402
from tui.ui.widgets.post_view import render_body  # noqa: E402


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


LAST_KEY = [0.0]
"""When the picker last took a key: an assignment is timed from the key that chose the code."""


def _picker_key(method: object) -> object:
    def wrapper(self: CodePicker, *args: object) -> object:
        LAST_KEY[0] = time.perf_counter()
        return method(self, *args)  # type: ignore[operator]

    return wrapper


def _assign(method: object) -> object:
    def wrapper(self: CodingScreen, *args: object) -> object:
        t0 = LAST_KEY[0]
        result = method(self, *args)  # type: ignore[operator]
        self.app.call_after_refresh(lambda: LATENCIES.append(("assign", (time.perf_counter() - t0) * 1000)))
        return result

    return wrapper


def _submit_key(method: object) -> object:
    def wrapper(self: Input, *args: object) -> object:
        LAST_KEY[0] = time.perf_counter()  # Enter in the code form
        return method(self, *args)  # type: ignore[operator]

    return wrapper


def _create(method: object) -> object:
    def wrapper(self: CodingScreen, *args: object) -> object:
        t0 = LAST_KEY[0]
        result = method(self, *args)  # type: ignore[operator]
        self.app.call_after_refresh(lambda: LATENCIES.append(("create", (time.perf_counter() - t0) * 1000)))
        return result

    return wrapper


# The picker key that assigns (through CodeChosen to the screen's assign, committed and redrawn), moving
# to the next post, and a cursor move as the baseline.
CodePicker.take_key = _picker_key(CodePicker.take_key)  # type: ignore[method-assign]
CodingScreen.assign = _assign(CodingScreen.assign)  # type: ignore[method-assign]
Input.action_submit = _submit_key(Input.action_submit)  # type: ignore[method-assign]
CodingScreen._create = _create(CodingScreen._create)  # type: ignore[method-assign]
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


async def measure(db: Path, assigns: int, creates: int = 30) -> dict[str, object]:
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
        # n opens the code form (inline), a name, Enter: the code is created, assigned and drawn.
        for i in range(creates):
            await pilot.press("n", *f"new{i}", "enter")
            await pilot.pause()
            await pilot.press("right")
            await pilot.pause()
        n_created = s.db.execute("SELECT count(*) FROM events WHERE kind = 'code_create'").fetchone()[0]
        assert n_created == creates, f"{n_created} codes created of {creates}"
    create_ms: list[float] = []
    for name, ms in LATENCIES:
        {"noop": noop_ms, "next": next_ms, "assign": assign_ms, "create": create_ms}[name].append(ms)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"bare": bare, "starts": starts, "assign": assign_ms, "next": next_ms, "noop": noop_ms, "rss": rss,
            "create": create_ms}


SENTENCES_ZH = [
    "朋友介绍说去泰国做客服，月薪三万，包机票。", "到了以后护照被收走，每天要完成诈骗业绩！",
    "后来家里人报警，大使馆协助才回国。", "我们住在园区里，四周都是高墙和铁丝网……",
    "完不成业绩就要挨打，有人被关进小黑屋三天。", "大家千万别信高薪招聘，尤其是境外的工作？",
    "那段时间我每天都在想怎么逃出去。", "He said the job was in Bangkok, but the car drove all night to the border.",
    "手机被统一保管，只能用公司给的手机联系家里，还要按照话术说自己过得很好。",
]


def long_post(chars: int = 20_000, seed: int = 5) -> str:
    """A long first-person account: Chinese and English sentences, paragraphs of 3-8 sentences."""
    rng = random.Random(seed)
    paras: list[str] = []
    while sum(len(p) + 1 for p in paras) < chars:
        paras.append("".join(rng.choice(SENTENCES_ZH) for _ in range(rng.randint(3, 8))))
    return "\n".join(paras)[:chars] + " #反诈[话题]# #缅北[话题]#"


class FullRender(App[None]):
    """Baseline: the former post view, which re-rendered the whole text into one Static on every move."""

    BINDINGS = [("j", "down")]

    def __init__(self, text: str, out: list[float]) -> None:
        super().__init__()
        self.text, self.out, self.cursor = text, out, 0
        self.sentences = shown_sentences(text)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield Static(id="body")

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.query_one("#body", Static).update(render_body(self.text, self.sentences, self.cursor, set(), []))
        start = self.sentences[self.cursor][0]
        scroll = self.query_one("#scroll", VerticalScroll)
        lines = Text(clean(self.text[:start])).wrap(self.console, max(1, scroll.scrollable_content_region.width))
        y = max(0, len(lines) - 1)
        if y < scroll.scroll_y or y >= scroll.scroll_y + scroll.scrollable_content_region.height - 1:
            scroll.scroll_to(y=max(0, y - 2), animate=False)

    def action_down(self) -> None:
        t0 = time.perf_counter()
        self.cursor = min(self.cursor + 1, len(self.sentences) - 1)
        self._draw()
        self.call_after_refresh(lambda: self.out.append((time.perf_counter() - t0) * 1000))


async def measure_cursor(presses: int = 200) -> dict[str, list[float]]:
    """j presses on a 20,000-character post: the coding app against the full re-render."""
    text = long_post()
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "long.db"
        s = Store(db)
        with s.db.conn:
            s.db.conn.execute(
                "INSERT INTO posts (platform, platform_id, label, title, text, tags, posted_at, text_hash)"
                " VALUES ('xhs', 'n1', 'P-lng', 'long', ?, '[]', '', ?)", (text, text_hash("long", text)))
        s.close()
        old: list[float] = []
        async with FullRender(text, old).run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for _ in range(presses):
                await pilot.press("j")
            await pilot.pause()
        LATENCIES.clear()
        app = QualtuiApp(Store(db), load_codebook(bundled_codebook()), "alice", mode="screening",
                         config=Config(wellbeing={"checkins": False}))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for _ in range(presses):
                await pilot.press("j")
            await pilot.pause()
        new = [ms for name, ms in LATENCIES if name == "noop"]
        LATENCIES.clear()
    return {"old": old, "new": new}


def report_cursor(presses: int = 200) -> None:
    """Measure and print the cursor figures."""
    r = asyncio.run(measure_cursor(presses))

    def fig(xs: list[float]) -> str:
        xs = sorted(xs)
        return f"median {statistics.median(xs):.2f} ms, p99 {xs[max(0, int(len(xs) * 0.99) - 1)]:.2f} ms"

    print(f"sentence cursor, {len(long_post()):,}-character post, {presses} j presses:")
    print(f"  full re-render of the text (the former view, baseline): {fig(r['old'])}")
    print(f"  line-by-line view (the app):                            {fig(r['new'])}  "
          f"{statistics.median(r['old']) / statistics.median(r['new']):.0f}x faster (goal < 5 ms)")
    print(json.dumps({"cursor_median_ms": round(statistics.median(r["new"]), 2),
                      "cursor_full_render_median_ms": round(statistics.median(r["old"]), 2)}))


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
    c = statistics.median(r["create"])
    print(f"create a code and assign it: Enter → committed → redrawn, median {c:.1f} ms over {len(r['create'])}, "
          f"ratio {c / noop:.1f}x (goal < 20 ms)")
    print(f"next post:                                 median {statistics.median(r['next']):.1f} ms "
          f"over {len(r['next'])} (goal < 30 ms)")
    print(f"peak memory of the app's process:          {r['rss']:.0f} MB (posts are read one at a time)")
    print(json.dumps({"start_ms": round(start * 1000), "assign_median_ms": round(statistics.median(a), 1),
                      "assign_p99_ms": round(p99, 1),
                      "create_median_ms": round(c, 1), "next_median_ms": round(statistics.median(r["next"]), 1),
                      "rss_mb": round(r["rss"])}))
    report_cursor()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1:2] == ["--cursor"]:
        report_cursor(*(int(x) for x in sys.argv[2:3]))
    else:
        main(*(int(x) for x in sys.argv[1:4]))
