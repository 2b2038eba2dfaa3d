"""Open coding: the effective codebook rebuilt from 1,000 change events in a real project (goal < 50 ms),
beside loading the codebook file from the cache; and `codebook write` folding them into the file."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_CHANGES = 1_000
N_DECISIONS = 100_000


def _changes(base: object, n: int, seed: int = 7) -> list[object]:
    """`n` changes a team could make: mostly creations and edits, then moves, merges and retirements."""
    from tui.core.codebook.changes import Change, ChangeRefused, OpenCodebook, new_node_id, propose_key

    rng = random.Random(seed)
    work = OpenCodebook(base)  # type: ignore[arg-type]
    made: list[Change] = []
    i = 0
    while len(made) < n:
        i += 1
        codes = [x for x in work.nodes.values() if not x.category and not x.retired]
        cats = [x.id for x in work.nodes.values() if x.category and not x.retired]
        kind = rng.choices(["create", "edit", "move", "merge", "retire"], [40, 30, 15, 10, 5])[0]
        if kind == "create" or len(codes) < 5:
            name = f"code {i} {rng.choice(['sold', 'debt', 'beaten', 'passport', 'ransom'])}"
            parent = rng.choice(cats + [c.id for c in codes if work.level(c) == 2])
            # The create form shows the key it proposes, and records it with the change.
            key = propose_key(name, work.taken_keys(parent)) or ""
            ch = Change("code_create", new_node_id(name), {"name": name, "definition": f"Seen on post {i}.",
                                                          "aliases": [], "parent": parent, "key": key}, "alice")
        else:
            code = rng.choice(codes)
            value: dict[str, object] = {
                "edit": {"name": f"{code.name} r{i}", "definition": f"Refined at {i}."},
                "move": {"parent": rng.choice(cats)},
                "merge": {"into": rng.choice(codes).id},
                "retire": {"retired": True},
            }[kind]
            ch = Change(f"code_{kind}", code.id, value, "alice")
        ch = Change(ch.kind, ch.code_id, ch.value, "alice", f"2025-01-01T10:{len(made) // 60:02d}:"
                    f"{len(made) % 60:02d}.{len(made):03d}Z", f"ev{len(made):06d}", None)
        try:
            work.check(ch)
        except ChangeRefused:
            continue
        work.apply(ch)
        made.append(ch)
    return made


def main() -> None:
    """Build the project, then time the fold against the cached file load."""
    from tui.core.codebook.loading import load_codebook
    from tui.core.paths import bundled_codebook
    from tui.core.project.codebook_log import effective_codebook
    from tui.core.project.codebook_write import write_codebook
    from tui.core.project.events import Event
    from tui.core.project.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="qualtui-bench-codebook-"))
    try:
        book = tmp / "codebook.yaml"
        shutil.copyfile(bundled_codebook(), book)
        file_cb = load_codebook(book)
        store = Store(tmp / "p.db")
        with store.write() as conn:
            conn.executemany("INSERT INTO posts (platform, platform_id, label, text, text_hash) "
                             "VALUES ('xhs', ?, ?, 'x', 'h')", [(f"n{i}", f"P-{i}") for i in range(20_000)])
        codes = [c.id for c in file_cb.codes()]
        rng = random.Random(3)
        store.record_many(Event("bob", rng.randrange(1, 20_001), "code_add", code_id=rng.choice(codes),
                                at=f"2025-01-02T00:00:00.{i:06d}Z") for i in range(N_DECISIONS))
        store.record_many(Event(c.coder, c.post_id, c.kind, code_id=c.code_id, id=c.id, at=c.at,  # type: ignore[attr-defined]
                                value=json.dumps(c.value)) for c in _changes(file_cb, N_CHANGES))  # type: ignore[attr-defined]

        def timed(fn: object, runs: int = 21) -> tuple[float, float]:
            # Wall time as the user waits for it, and the process's own CPU time, which a busy machine
            # (other work on the same cores) inflates far less.
            walls, cpus = [], []
            for _ in range(runs):
                start, cpu = time.perf_counter(), time.process_time()
                fn()  # type: ignore[operator]
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() - cpu)
            return statistics.median(walls), statistics.median(cpus)

        load_codebook(book)  # the cache is written on the first load
        base, base_cpu = timed(lambda: load_codebook(book))
        ours, ours_cpu = timed(lambda: effective_codebook(store.db.conn, file_cb))
        cb, applied = effective_codebook(store.db.conn, file_cb)
        skipped = sum(1 for a in applied if a.problem)
        print(f"load codebook.yaml from the cache (baseline): {base * 1000:.1f} ms (CPU {base_cpu * 1000:.1f} ms)")
        print(f"effective codebook from {len(applied):,} change events among {N_DECISIONS:,} decisions: "
              f"{ours * 1000:.1f} ms (CPU {ours_cpu * 1000:.1f} ms)  ratio {ours / base:.1f}x  "
              f"({skipped} skipped; goal < 50 ms)")
        start = time.perf_counter()
        result = write_codebook(store, book)
        print(f"codebook write of the {result.written:,} changes into the file: "
              f"{(time.perf_counter() - start) * 1000:.0f} ms ({sum(1 for _ in cb.codes())} codes after)")
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
