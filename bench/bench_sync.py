"""Two coders' exports of 50,000 events each over 20,000 posts: export, merge, agreement, merge again.

Baselines, in the same process: a plain `json.dumps` of the same events to a file (export) and a plain
sqlite `executemany` of the same rows into an empty table (merge).
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import BIN, make_notes, wall, write_json  # noqa: E402

from tui.core.codebook.loading import load_codebook  # noqa: E402
from tui.core.paths import bundled_codebook  # noqa: E402
from tui.core.project.events import Event
from tui.core.project.ingest import import_file  # noqa: E402
from tui.core.project.store import Store  # noqa: E402
from tui.core.sync.exchange import export_events  # noqa: E402
from tui.core.sync.merge import merge_files  # noqa: E402
from tui.core.sync.tables import agreement_table  # noqa: E402


def _code(store: Store, coder: str, n_events: int, seed: int, code_ids: list[str], cb_hash: str) -> None:
    """Record `n_events` events for `coder`: relevance and done on every post, codes on the rest."""
    rng = random.Random(seed)
    pids = store.post_ids()
    events: list[Event] = []
    for pid in pids:
        events.append(Event(coder, pid, "relevance", value="1" if rng.random() < 0.85 else "0",
                            codebook_hash=cb_hash))
        events.append(Event(coder, pid, "done", value="1", codebook_hash=cb_hash))
    while len(events) < n_events:
        events.append(Event(coder, rng.choice(pids), "code_add", code_id=rng.choice(code_ids), codebook_hash=cb_hash))
    store.record_many(events)


def _timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main(n_posts: int = 20_000, n_events: int = 50_000) -> None:
    """Run the benchmark and print the figures and ratios."""
    cb = load_codebook(bundled_codebook())
    code_ids = [c.id for c in cb.codes()]
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        src = write_json(folder / "search_contents_bench.json", make_notes(n_posts, chars=200))
        stores = {}
        for name, coder, seed in (("a", "alice", 1), ("b", "bob", 2), ("c", "", 0)):
            s = Store(folder / f"{name}.db")
            import_file(s, src)
            if coder:
                _code(s, coder, n_events, seed, code_ids, cb.hash)
            stores[name] = s
        files = [folder / "alice.qualtui.jsonl", folder / "bob.qualtui.jsonl"]
        _, t_exp_a = _timed(export_events, stores["a"], files[0], coder="alice", codebook_hash=cb.hash)
        _, t_exp_b = _timed(export_events, stores["b"], files[1], coder="bob", codebook_hash=cb.hash)
        report, t_merge = _timed(merge_files, stores["c"], files, resolve=cb.resolve, codebook_hash=cb.hash)
        table, t_agree = _timed(agreement_table, stores["c"], cb, by="all")
        before = stores["c"].db.conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
        again, t_again = _timed(merge_files, stores["c"], files, resolve=cb.resolve, codebook_hash=cb.hash)
        after = stores["c"].db.conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
        assert report.added == 2 * n_events and not again.changed and before == after

        # Baselines: the same events as plain JSON lines, and the same rows through executemany.
        rows = stores["a"].events(coder="alice") + stores["b"].events(coder="bob")
        t = time.perf_counter()
        for half, path in ((rows[:n_events], folder / "plain_a.jsonl"), (rows[n_events:], folder / "plain_b.jsonl")):
            path.write_text("".join(json.dumps(r) + "\n" for r in half), encoding="utf-8")
        t_base_exp = time.perf_counter() - t
        plain = sqlite3.connect(folder / "plain.db")
        plain.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, coder TEXT, post_id INTEGER,"
                      " kind TEXT, code_id TEXT, value TEXT, ref TEXT, at TEXT, codebook_hash TEXT, origin TEXT)")
        t = time.perf_counter()
        with plain:
            plain.executemany("INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash,"
                              " origin) VALUES (:id, :coder, :post_id, :kind, :code_id, :value, :ref, :at,"
                              " :codebook_hash, :origin)", rows)
        t_base_merge = time.perf_counter() - t
        for s in stores.values():
            s.close()
        size = sum(f.stat().st_size for f in files) / 1e6
        # The whole command once more, as a user runs it: start-up, verify, merge nothing, agreement summary.
        t_cli = wall([str(BIN / "qualtui"), "--db", str(folder / "c.db"), "merge", *map(str, files)])
    total = t_exp_a + t_exp_b + t_merge + t_agree
    print(f"data: 2 coders x {n_events:,} events over {n_posts:,} posts; exports {size:.1f} MB together")
    print(f"export (both files):            {t_exp_a + t_exp_b:.2f} s   baseline json.dumps {t_base_exp:.2f} s"
          f"   ratio {(t_exp_a + t_exp_b) / t_base_exp:.1f}x")
    print(f"merge (both files, verified):   {t_merge:.2f} s   baseline executemany {t_base_merge:.2f} s"
          f"   ratio {t_merge / t_base_merge:.1f}x")
    print(f"agreement table (--by all):     {t_agree:.2f} s   ({len(table.rows)} rows over {table.n_posts:,} posts)")
    print(f"export + merge + agreement:     {total:.2f} s   (goal < 5 s)")
    print(f"merge again (changes nothing):  {t_again:.2f} s   (goal < 2 s; {again.already:,} events already there)")
    print(f"`qualtui merge` again, whole command with its agreement summary: {t_cli:.2f} s")


if __name__ == "__main__":
    main()
