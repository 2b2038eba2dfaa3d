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
from tui.core.prelabel.pool import Ordered
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


@dataclass
class _Job:
    th: str
    text: str
    relevance: bool  # the model must still be asked for P(relevant)
    vector: bool  # ... and for the embedding
    have: dict[str, float]  # yes/no code scores already cached


@dataclass
class _Answer:
    relevance: float | None
    vector: NDArray[np.float32] | None
    codes: dict[str, float]


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
    first: Sequence[int] = (),
    concurrency: int | None = None,
) -> RunSummary:
    """Score the selected posts (cached per post text, model and prompt) and write their suggestions.

    Posts whose ids are in `first` are scored first, in that order (the app: the coder's queue from the post on screen).
    `concurrency` requests are in flight at once (default: the backend's own `concurrency`, else 1); the
    answers are written in the posts' order whatever order they arrive in.
    """
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
    if first:
        rank = {pid: i for i, pid in enumerate(first)}
        todo.sort(key=lambda p: rank.get(p["id"], len(rank)))
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
        # Posts with the same text are scored once: the first asks the model, the others share its answer.
        groups: dict[str, list[dict[str, Any]]] = {}
        for p in todo:
            groups.setdefault(p["text_hash"], []).append(p)
        jobs = [_Job(th, post_text(ps[0]), th not in rel, want_vectors and th not in vecs, dict(yes.get(th, {})))
                for th, ps in groups.items()]

        def ask(job: _Job) -> _Answer:
            """The model's answers one post still lacks (on a worker thread: no database here)."""
            out = _Answer(None, None, {})
            p1 = backend.probability(s.template, job.text) if job.relevance else rel[job.th]
            if job.relevance:
                out.relevance = p1
            if job.vector:
                out.vector = backend.embed([job.text])[0]
            if s.yesno and p1 >= thr:
                for cid, (tpl, _) in s.yesno.items():
                    if cid not in job.have:
                        out.codes[cid] = backend.probability(tpl, job.text)
            return out

        def save(job: _Job, ans: _Answer) -> None:
            """Write one post's answers, and the suggestions of every post with its text, in one transaction."""
            nonlocal n_scored
            rows = []
            if ans.relevance is not None:
                rel[job.th] = ans.relevance
                rows.append(("relevance", "", ans.relevance, s.prompt_hash))
            if ans.vector is not None:
                vecs[job.th] = ans.vector
            for cid, score in ans.codes.items():
                yes.setdefault(job.th, {})[cid] = score
                rows.append(("code", cid, score, s.yesno[cid][1]))
            with conn:  # one transaction per post: a killed run keeps every finished post, and no half of one
                begin()
                for kind, cid, score, ph in rows:
                    put_score(conn, job.th, s.model_hash, ph, kind, cid, score)
                if want_vectors:
                    put_vector(conn, job.th, s.embed_hash, vecs[job.th])
                for p in groups[job.th]:
                    suggest(p)
            n_scored += len(groups[job.th])
            if progress:
                progress(n_cached + n_scored, len(posts), n_cached)

        workers = max(1, int(concurrency if concurrency is not None else getattr(backend, "concurrency", 1)))
        pool = Ordered(ask, jobs, workers)
        t_scoring = time.monotonic()
        try:
            answers = iter(pool)
            for _ in jobs:
                if should_stop is not None and should_stop():
                    status = "stopped"
                    pool.cancel()
                    for job, ans in pool.finished():  # answers that already arrived are kept
                        save(job, ans)
                    break
                save(*next(answers))
        except BaseException:
            # Ctrl-C, a failed request or a full disk: start nothing more, keep every answer that arrived.
            pool.cancel()
            stop_waiting = getattr(backend, "cancel", None)
            if callable(stop_waiting):
                stop_waiting()
            for job, ans in pool.finished():
                save(job, ans)
            raise
        finally:
            pool.close()
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
