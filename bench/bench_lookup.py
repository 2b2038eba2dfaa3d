"""`qualtui lookup` cold start, and in-app search per query against a plain substring scan."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, median_wall  # noqa: E402

QUERIES = ["ransom", "赎金", "torure", "money debt", "a", "fr", "passprot", "abuse threat family", "scm",
           "zzzz", "缅甸园区", "polic", "s", "gamble invest", "control/physical"]


def search_per_query() -> None:
    """The app's `/` search on the study codebook, per query, beside a substring scan of every node."""
    from tui.core.codebook.loading import load_codebook
    from tui.core.codebook.lookup import search
    from tui.core.paths import bundled_codebook

    book = load_codebook(bundled_codebook())
    nodes = list(book.nodes())

    def naive(query: str) -> list[object]:
        q = query.lower()
        return [n for n in nodes if q in (getattr(n, "name", "") + " " + getattr(n, "definition", "")).lower()]

    search(book, "warm up")  # the index is built once per codebook

    def per_query(fn: object) -> float:
        runs = []
        for _ in range(7):
            start = time.perf_counter()
            for query in QUERIES * 10:
                fn(query)  # type: ignore[operator]
            runs.append((time.perf_counter() - start) / (len(QUERIES) * 10))
        return statistics.median(runs)

    ours = per_query(lambda q: search(book, q))
    base = per_query(naive)
    print(f"substring scan (baseline):  {base * 1000:.3f} ms per query over {len(nodes)} nodes")
    print(f"search (typos, aliases):    {ours * 1000:.3f} ms per query  ratio {ours / base:.1f}x  (goal < 2 ms)")


def main() -> None:
    """Run the benchmark and print the medians."""
    base = median_wall([sys.executable, "-c", "pass"], runs=15)
    cmd = [str(BIN / "qualtui"), "lookup", "ransom"]
    zh = [str(BIN / "qualtui"), "lookup", "赎金"]
    ours = median_wall(cmd, runs=15)
    ours_zh = median_wall(zh, runs=15)
    print(f"python -c pass (baseline): {base * 1000:.0f} ms")
    print(f"qualtui lookup ransom:     {ours * 1000:.0f} ms  ratio {ours / base:.1f}x  (goal < 350 ms)")
    print(f"qualtui lookup 赎金:        {ours_zh * 1000:.0f} ms  ratio {ours_zh / base:.1f}x")
    search_per_query()


if __name__ == "__main__":
    main()
