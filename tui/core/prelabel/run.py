"""Pre-labelling: relevance screening and code suggestions from a language model, cached and resumable.

`run_prelabel` scores posts and writes suggestions; `learn` improves them from the coders' decisions;
`evaluate` compares them with the coders. See docs/prelabel.md for the method and measured figures.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

import numpy as np

from tui.core.codebook.model import render_template
from tui.core.prelabel.backends import SLOT, Backend, PrelabelError
from tui.core.project.events import utcnow
from tui.core.project.store import Store

if TYPE_CHECKING:
    from tui.core.prelabel.learn import LearnSummary

__all__ = [
    "CODE_METHODS", "PrelabelError", "RunSummary", "code_text", "post_text", "rate_text", "run_prelabel",
    "screening_template", "write_suggestions",
]

CODE_METHODS = ("embed", "yesno")
TOP_K = 5  # code suggestions kept per post and level (codes, sub-codes)
METHOD = "next-token-0/1:v1"  # part of every prompt hash: change it when scoring changes meaning
_CHUNK = 500

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


# ---------------------------------------------------------------- prompts


def screening_template(codebook: Any) -> str:
    """The codebook's screening prompt with examples and labels filled in and a slot for the post."""
    scr = getattr(codebook, "screening", None)
    if scr is None:
        raise PrelabelError("The codebook has no `screening:` section, so there is no prompt to screen with.")
    if "{post}" not in scr.prompt:
        raise PrelabelError("The screening prompt in the codebook has no {post} placeholder, so the post would never reach the model.")
    # Alternate the labels (keeping the codebook's order within each) so no answer wins by recency.
    pos = [e for e in scr.examples if int(e.label) == 1]
    neg = [e for e in scr.examples if int(e.label) != 1]
    mixed = [e for pair in zip_longest(pos, neg) for e in pair if e is not None]
    examples = "\n\n".join(_example(scr.prompt, e.text.strip(), int(e.label)) for e in mixed)
    labels = {k: v.name for k, v in getattr(scr, "labels", {}).items()}
    return render_template(scr.prompt, {
        "examples": examples, "label0": labels.get("0", "irrelevant"), "label1": labels.get("1", "relevant"), "post": SLOT,
    })


def _example(prompt: str, text: str, label: int) -> str:
    """A few-shot example in the same shape as the question that ends the prompt, answered."""
    at = prompt.find("{examples}")
    block = prompt[at + len("{examples}"):].strip() if at >= 0 else ""
    if "{post}" not in block or "{examples}" in block:
        return f"Post:\n{text}\nAnswer: {label}"
    # Fill {post} alone, so an example's own braces stay literal and other placeholders stay unfilled.
    return render_template(block, {"post": text}) + f" {label}"


def code_template(codebook: Any, code: Any) -> str:
    """The yes/no prompt for one code, with a slot for the post."""
    pre = getattr(codebook, "prelabel", None)
    if pre is None or "{post}" not in pre.code_prompt:
        raise PrelabelError("The codebook's prelabel.code_prompt is missing or has no {post} placeholder.")
    return render_template(pre.code_prompt, {
        "code": code.name, "definition": code.definition, "aliases": ", ".join(code.aliases),
        "category": codebook.path(code.id)[0], "path": codebook.path_str(code.id), "post": SLOT,
    })


def code_text(codebook: Any, code: Any) -> str:
    """What a code's embedding is computed from: 'path: definition (aliases)'."""
    aliases = f" ({', '.join(code.aliases)})" if code.aliases else ""
    return f"{codebook.path_str(code.id)}: {code.definition}{aliases}"


def post_text(post: dict[str, Any]) -> str:
    """Title and body as the model sees them; a title that merely repeats the body's start is left out."""
    title, text = (post.get("title") or "").strip(), (post.get("text") or "").strip()
    if title and not text.startswith(title.rstrip("…. ")):
        return f"{title}\n{text}".strip()
    return text or title


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join((METHOD, *parts)).encode("utf-8", "surrogatepass")).hexdigest()[:32]


# ---------------------------------------------------------------- cache access


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i: i + _CHUNK]


def _cached_scores(conn: Any, hashes: Sequence[str], model_hash: str, prompt_hashes: dict[str, str], kind: str) -> dict[str, dict[str, float]]:
    """text hash -> code id ('' for relevance) -> score, for rows whose prompt hash is current."""
    out: dict[str, dict[str, float]] = {}
    wanted = set(prompt_hashes.values())
    for part in _chunks(hashes):
        q = ",".join("?" * len(part))
        for th, code, ph, score in conn.execute(
            f"SELECT text_hash, code_id, prompt_hash, score FROM prelabel_cache WHERE model_hash = ? AND kind = ?"
            f" AND text_hash IN ({q})", (model_hash, kind, *part)):
            if ph in wanted and prompt_hashes.get(code) == ph:
                out.setdefault(th, {})[code] = score
    return out


def _cached_vectors(conn: Any, hashes: Sequence[str], model_hash: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for part in _chunks(hashes):
        q = ",".join("?" * len(part))
        for th, blob in conn.execute(
            f"SELECT text_hash, vector FROM embeddings WHERE model_hash = ? AND text_hash IN ({q})", (model_hash, *part)):
            out[th] = np.frombuffer(blob, dtype=np.float32)
    return out


def _put_vector(conn: Any, th: str, model_hash: str, vec: np.ndarray) -> None:
    v = np.asarray(vec, dtype=np.float32)
    conn.execute("INSERT OR REPLACE INTO embeddings (text_hash, model_hash, dim, vector) VALUES (?, ?, ?, ?)",
                 (th, model_hash, len(v), v.tobytes()))


def _put_score(conn: Any, th: str, model_hash: str, prompt_hash: str, kind: str, code: str, score: float) -> None:
    conn.execute("INSERT OR REPLACE INTO prelabel_cache (text_hash, model_hash, prompt_hash, kind, code_id, score,"
                 " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", (th, model_hash, prompt_hash, kind, code, score, utcnow()))


def _code_hash(text: str) -> str:
    return hashlib.sha256(("code\x00" + text).encode("utf-8")).hexdigest()[:32]


def similarity(post_vecs: np.ndarray, code_vecs: np.ndarray) -> np.ndarray:
    """Cosine similarity of posts to codes after removing the codes' mean direction (posts x codes)."""
    c = np.asarray(code_vecs, dtype=np.float64)
    mu = c.mean(axis=0) if len(c) > 1 else np.zeros(c.shape[1])
    c = c - mu
    p = np.atleast_2d(np.asarray(post_vecs, dtype=np.float64)) - mu
    c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    p /= np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    return p @ c.T


def write_suggestions(conn: Any, post_id: int, relevance: float | None, rel_source: str, codes: dict[str, float] | None,
                      code_source: str, levels: dict[str, int], threshold: float, top_k: int, model_hash: str,
                      prompt_hash: str) -> int:
    """Replace one post's suggestions (caller holds the transaction); code rows only for relevant posts."""
    conn.execute("DELETE FROM suggestions WHERE post_id = ?", (post_id,))
    if relevance is None:
        return 0
    now = utcnow()
    rows = [(post_id, "relevance", "", float(relevance), rel_source, model_hash, prompt_hash, now)]
    if codes and relevance >= threshold:
        for level in sorted(set(levels.values())):
            ranked = sorted((c for c in codes if levels.get(c) == level), key=lambda c: -codes[c])[:top_k]
            rows += [(post_id, "code", c, float(codes[c]), code_source, model_hash, prompt_hash, now) for c in ranked]
    conn.executemany("INSERT INTO suggestions (post_id, kind, code_id, score, source, model_hash, prompt_hash,"
                     " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


# ---------------------------------------------------------------- the run


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
    yesno = {}
    if method == "yesno":
        for c in codes:
            t = code_template(codebook, c)
            yesno[c.id] = (t, _hash(t))
    return _Setup(template, _hash(template), model_hash, embed_hash, method, codes, {c.id: c.level for c in codes},
                  {cid: _code_hash(t) for cid, t in texts.items()}, texts, yesno)


def _remember(store: Store, s: _Setup, threshold: float, top_k: int) -> None:
    for key, value in (("model_hash", s.model_hash), ("prompt_hash", s.prompt_hash), ("embed_hash", s.embed_hash),
                       ("code_method", s.method or ""), ("threshold", repr(threshold)), ("top_k", str(top_k))):
        store.set_meta(f"prelabel.{key}", value)


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
    want_vectors = s.method == "embed" or learn_from_coders
    rel = {} if refresh else {h: d[""] for h, d in _cached_scores(conn, hashes, s.model_hash, {"": s.prompt_hash}, "relevance").items()}
    vecs = {} if refresh or not want_vectors else _cached_vectors(conn, hashes, s.embed_hash)
    yes_hashes = {cid: ph for cid, (_, ph) in s.yesno.items()}
    yes = {} if refresh or not s.yesno else _cached_scores(conn, hashes, s.model_hash, yes_hashes, "code")
    code_vecs = _cached_vectors(conn, list(s.code_hashes.values()), s.embed_hash) if s.method == "embed" else {}

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
    pending_codes: dict[str, np.ndarray] = {}
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
            _remember(store, s, thr, top_k)
            for cid, v in pending_codes.items():
                _put_vector(conn, s.code_hashes[cid], s.embed_hash, v)
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
                    _put_score(conn, th, s.model_hash, ph, kind, cid, score)
                if want_vectors:
                    _put_vector(conn, th, s.embed_hash, vecs[th])
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
        from tui.core.prelabel.learn import learn

        learned = learn(store, codebook, threshold=thr, top_k=top_k)
    _finish(store, run_id, status, n_scored)
    n_rel = conn.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance' AND score >= ? AND post_id IN"
                         " (SELECT id FROM posts" + (f" WHERE {where}" if where else "") + ")", (thr, *params)).fetchone()[0]
    return RunSummary(run_id, status, len(posts), n_scored, n_cached, n_rel, thr, backend.model_name, s.model_hash,
                      s.prompt_hash, backend.loaded, time.monotonic() - t0, learned, scoring_seconds)


def _finish(store: Store, run_id: int, status: str, n_scored: int) -> None:
    with store.db.conn:
        store.db.conn.execute("UPDATE prelabel_runs SET finished_at = ?, n_scored = ?, status = ? WHERE id = ?",
                              (utcnow(), n_scored, status, run_id))


def __getattr__(name: str) -> Any:
    # learn() and evaluate() live in tui.core.prelabel.learn, which builds on this module; re-exported lazily.
    if name in ("learn", "evaluate", "LearnSummary", "EvalReport", "CodeEval"):
        from tui.core.prelabel import learn as learning

        return getattr(learning, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
