"""`qualtui lookup` cold start: median wall time and its ratio to `python -c pass`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, median_wall  # noqa: E402


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


if __name__ == "__main__":
    main()
