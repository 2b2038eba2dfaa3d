"""A pre-labelling run: score the selected posts (cached and resumable) and write their suggestions.

`run_prelabel` scores posts and writes suggestions, then lets `learn` improve them from the coders'
decisions; `tui.core.prelabel.scorecard.evaluate` compares them with the coders. See docs/prelabel.md
for the method and measured figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.backends import Backend
from tui.core.prelabel.cache import cached_scores, cached_vectors, put_score, put_vector
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.learn import LearnSummary, learn
from tui.core.prelabel.prompts import (
    code_template,
    code_text,
    code_text_hash,
    post_text,
    prompt_hash,
    screening_template,
)
from tui.core.prelabel.settings import CODE_METHODS, TOP_K, remember_settings
from tui.core.prelabel.suggestions import similarity, write_suggestions
from tui.core.project.events import utcnow
from tui.core.project.store import Store

__all__ = ["Progress", "RunSummary", "rate_text", "run_prelabel"]

Progress = Callable[[int, int, int], None]


@dataclass
class RunSummary:
    """The outcome of one pre-labelling run."""

    run_id: int
    status: str  # finished | stopped | interrupted
    n_posts: int
    n_scored: int
    n_cached: int
    n_relevant: int
    threshold: float
    model: str
    model_hash: str
    prompt_hash: str
    model_loaded: bool
    seconds: float
    learned: LearnSummary | None = None
    scoring_seconds: float = 0.0  # from the first post on: without embedding the codes, with loading the model


def rate_text(n_scored: int, seconds: float) -> str:
    """Throughput as people read it: '0.4 posts/min' (one decimal under 10), '281 posts/min'; '' before a post."""
    if n_scored <= 0 or seconds <= 0:
        return ""
    per_min = n_scored / seconds * 60
    return f"{per_min:.1f} posts/min" if per_min < 9.95 else f"{per_min:.0f} posts/min"


@dataclass
class _Setup:
    template: str
    prompt_hash: str
    model_hash: str
    embed_hash: str
    method: str | None  # None: no code suggestions
    codes: list[Any]
    levels: dict[str, int]
    code_hashes: dict[str, str]  # code id -> hash of its embedding text
    code_texts: dict[str, str]
    yesno: dict[str, tuple[str, str]]  # code id -> (template, prompt hash)


def _setup(codebook: Any, model_hash: str, embed_hash: str, method: str | None) -> _Setup:
    template = screening_template(codebook)
    codes = [c for c in codebook.codes() if c.level in (2, 3)] if method else []
    texts = {c.id: code_text(codebook, c) for c in codes}
    yesno: dict[str, tuple[str, str]] = {}
    if method == "yesno":
        for c in codes:
            t = code_template(codebook, c)
            yesno[c.id] = (t, prompt_hash(t))
    return _Setup(template, prompt_hash(template), model_hash, embed_hash, method, codes,
                  {c.id: c.level for c in codes}, {cid: code_text_hash(t) for cid, t in texts.items()}, texts, yesno)


def run_prelabel(
    store: Store,
    codebook: Any,
    backend: Backend,
    *,
    where: str = "",
    params: Sequence[Any] = (),
    limit: int | None = None,
    threshold: float | None = None,
    codes: bool = True,
    code_method: str = "embed",
    top_k: int = TOP_K,
    refresh: bool = False,
    learn_from_coders: bool = True,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunSummary:
    """Score the selected posts (cached per post text, model and prompt) and write their suggestions."""
    if code_method not in CODE_METHODS:
        raise PrelabelError(f"Unknown code method {code_method!r}: use one of {', '.join(CODE_METHODS)}.")
    t0 = time.monotonic()
    s = _setup(codebook, backend.model_hash, backend.embed_hash, code_method if codes else None)
    thr = float(codebook.screening.threshold if threshold is None else threshold)
    conn = store.db.conn
    posts = store.posts(where=where, params=params, order="id", limit=limit)
    hashes = sorted({p["text_hash"] for p in posts})
    # Embeddings serve code suggestions; the learned relevance screen works from the text (TF-IDF) and the
    # model's score without them, so --no-codes costs one pass per post, not two.
    want_vectors = s.method == "embed"
    rel: dict[str, float] = {}
    if not refresh:
        rel = {h: d[""] for h, d in cached_scores(conn, hashes, s.model_hash, {"": s.prompt_hash}, "relevance").items()}
    vecs = {} if refresh or not want_vectors else cached_vectors(conn, hashes, s.embed_hash)
    yes_hashes = {cid: ph for cid, (_, ph) in s.yesno.items()}
    yes = {} if refresh or not s.yesno else cached_scores(conn, hashes, s.model_hash, yes_hashes, "code")
    code_vecs = cached_vectors(conn, list(s.code_hashes.values()), s.embed_hash) if s.method == "embed" else {}

    def complete(th: str) -> bool:
        if th not in rel or (want_vectors and th not in vecs):
            return False
        return not (s.yesno and rel[th] >= thr and len(yes.get(th, {})) < len(s.yesno))

    todo = [p for p in posts if not complete(p["text_hash"])]
    cached = [p for p in posts if complete(p["text_hash"])]
    n_cached = len(cached)
    # Nothing is written until the model has answered once: a refused run (server down, bad model)
    # leaves no run row, no settings and no rewritten suggestions behind.
    run_id: int | None = None
    pending_codes: dict[str, NDArray[np.float32]] = {}
    status, n_scored = "finished", 0
    try:
        if s.method == "embed" and len(code_vecs) < len(s.code_hashes):
            missing = [cid for cid, h in s.code_hashes.items() if h not in code_vecs]
            got = backend.embed([s.code_texts[c] for c in missing])
            for cid, v in zip(missing, got, strict=False):
                pending_codes[cid] = code_vecs[s.code_hashes[cid]] = np.asarray(v, dtype=np.float32)
        code_ids = [c.id for c in s.codes]
        cmat = np.array([code_vecs[s.code_hashes[c]] for c in code_ids]) if s.method == "embed" and code_ids else None

        def code_scores(th: str) -> dict[str, float] | None:
            if s.method == "yesno":
                return yes.get(th)
            if cmat is None or th not in vecs:
                return None
            return dict(zip(code_ids, ((similarity(vecs[th], cmat)[0] + 1) / 2).tolist(), strict=False))

        def suggest(p: dict[str, Any]) -> None:
            th = p["text_hash"]
            write_suggestions(conn, p["id"], rel.get(th), "llm", code_scores(th), "llm", s.levels, thr, top_k,
                              s.model_hash, s.prompt_hash)

        def begin() -> None:
            """The run row, settings, code vectors and cached posts' suggestions (caller holds the transaction)."""
            nonlocal run_id
            if run_id is not None:
                return
            run_id = conn.execute(
                "INSERT INTO prelabel_runs (model, model_hash, prompt_hash, backend, threshold, started_at, n_posts,"
                " n_cached, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                (backend.model_name, s.model_hash, s.prompt_hash, backend.kind, thr, utcnow(), len(posts), n_cached),
            ).lastrowid
            remember_settings(store, model_hash=s.model_hash, prompt_hash=s.prompt_hash, embed_hash=s.embed_hash,
                              code_method=s.method or "", threshold=thr, top_k=top_k)
            for cid, v in pending_codes.items():
                put_vector(conn, s.code_hashes[cid], s.embed_hash, v)
            for p in cached:
                suggest(p)

        if not todo:
            with conn:
                begin()
        if progress:
            progress(n_cached, len(posts), n_cached)
        t_scoring = time.monotonic()
        for i, p in enumerate(todo, 1):
            if should_stop is not None and should_stop():
                status = "stopped"
                break
            th, text, rows = p["text_hash"], post_text(p), []
            if th not in rel:
                rel[th] = backend.probability(s.template, text)
                rows.append(("relevance", "", rel[th], s.prompt_hash))
            if want_vectors and th not in vecs:
                vecs[th] = backend.embed([text])[0]
            if s.yesno and rel[th] >= thr:
                have = yes.setdefault(th, {})
                for cid, (tpl, ph) in s.yesno.items():
                    if cid not in have:
                        have[cid] = backend.probability(tpl, text)
                        rows.append(("code", cid, have[cid], ph))
            with conn:  # one transaction per post: a killed run keeps every finished post, and no half of one
                begin()
                for kind, cid, score, ph in rows:
                    put_score(conn, th, s.model_hash, ph, kind, cid, score)
                if want_vectors:
                    put_vector(conn, th, s.embed_hash, vecs[th])
                suggest(p)
            n_scored += 1
            if progress:
                progress(n_cached + i, len(posts), n_cached)
        scoring_seconds = time.monotonic() - t_scoring
        if run_id is None:  # stopped before the first post: still a run the user asked for
            with conn:
                begin()
    except KeyboardInterrupt:
        if run_id is not None:
            _finish(store, run_id, "interrupted", n_scored)
        raise
    except BaseException:
        if run_id is not None:
            _finish(store, run_id, "failed", n_scored)
        raise
    assert run_id is not None
    learned = None
    if learn_from_coders and status == "finished":
        learned = learn(store, codebook, threshold=thr, top_k=top_k)
    _finish(store, run_id, status, n_scored)
    n_rel = conn.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance' AND score >= ? AND post_id IN"
                         " (SELECT id FROM posts" + (f" WHERE {where}" if where else "") + ")",
                         (thr, *params)).fetchone()[0]
    return RunSummary(run_id, status, len(posts), n_scored, n_cached, n_rel, thr, backend.model_name, s.model_hash,
                      s.prompt_hash, backend.loaded, time.monotonic() - t0, learned, scoring_seconds)


def _finish(store: Store, run_id: int, status: str, n_scored: int) -> None:
    with store.db.conn:
        store.db.conn.execute("UPDATE prelabel_runs SET finished_at = ?, n_scored = ?, status = ? WHERE id = ?",
                              (utcnow(), n_scored, status, run_id))
