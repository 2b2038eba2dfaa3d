"""Import 100,000 MediaCrawler-shaped posts: qualtui vs `sqlite-utils insert` of the same file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, make_notes, wall, write_json  # noqa: E402


def main(n: int = 100_000) -> None:
    """Run the benchmark and print posts/s and the ratio."""
    with tempfile.TemporaryDirectory() as d:
        src = write_json(Path(d) / "search_contents_bench.json", make_notes(n))
        size = src.stat().st_size / 1e6
        plain = wall([str(BIN / "sqlite-utils"), "insert", str(Path(d) / "plain.db"), "notes", str(src)])
        ours = wall([str(BIN / "qualtui"), "--db", str(Path(d) / "q.db"), "import", str(src)])
        again = wall([str(BIN / "qualtui"), "--db", str(Path(d) / "q.db"), "import", str(src)])
    print(f"file: {n} posts, {size:.0f} MB JSON array")
    print(f"sqlite-utils insert (baseline): {plain:.2f} s  ({n / plain:,.0f} posts/s)")
    print(f"qualtui import:                 {ours:.2f} s  ({n / ours:,.0f} posts/s)")
    print(f"ratio qualtui / baseline:       {ours / plain:.2f}x  (goal ≤ 2x, under 15 s)")
    print(f"re-import (all duplicates):     {again:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
