"""Pre-labels without a command: whether the app starts them itself, in which order, and when it learns again.

The app's background worker calls these; see docs/prelabel.md ("Pre-labels from the first minute").
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.core.prelabel.settings import last_settings
from tui.core.project.events import CODE_ADD, CODE_REMOVE, RELEVANCE, utcnow
from tui.core.project.store import Store

if TYPE_CHECKING:  # learning brings numpy in: the app imports this module before it needs either
    from tui.core.prelabel.backends import Backend
    from tui.core.prelabel.learn import LearnSummary
    from tui.core.prelabel.run import RunSummary

__all__ = ["CODE_BATCH", "LEARNED_KEY", "RELEARN_EVERY", "UNLABELLED", "Outcome", "embed_codes", "has_prelabel",
           "learning_due", "learning_note", "lower_priority", "needs_prelabels", "new_decisions", "other_model",
           "prelabel_in_passes", "queue_first", "record_learning", "relearn"]

CODE_BATCH = 4
"""Codes embedded between two looks at whether to stop: quitting never waits for a whole codebook."""
RELEARN_EVERY = 20
"""New decisions (relevance, codes added or removed, by any coder) after which the app learns again."""
LEARNED_KEY = "prelabel.learned"
"""meta key: what the last learning found and the event it had seen, as JSON."""
_DECISIONS = (str(RELEVANCE), str(CODE_ADD), str(CODE_REMOVE))
UNLABELLED = "id NOT IN (SELECT post_id FROM suggestions WHERE kind = 'relevance')"
"""The posts without a relevance pre-label, as a `where` for `run_prelabel`."""


def needs_prelabels(store: Store) -> bool:
    """True when some post has no relevance pre-label yet."""
    row = store.db.conn.execute(
        "SELECT 1 FROM posts WHERE id NOT IN (SELECT post_id FROM suggestions WHERE kind = 'relevance') LIMIT 1"
    ).fetchone()
    return row is not None


@dataclass
class Outcome:
    """What a background pre-labelling did: the last run, and the posts that got their first relevance score."""

    run: RunSummary | None  # None: stopped while the codes were embedded, before the full run
    n_new: int


def prelabel_in_passes(store: Store, codebook: Any, backend: Backend, *, first: Sequence[int] = (),
                       progress: Callable[[str, int, int], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> Outcome:
    """Relevance first for the posts that have none, then codes, embeddings and learning for every post.

    Embedding a codebook's codes takes the small default model a minute or more on a busy machine, and
    the coder screens first: so the first pass asks only for P(relevant), one post after the other in
    the coder's order, and the second reuses those cached answers. Posts that had a pre-label keep it
    untouched by the first pass. `progress(what, done, total)` names the pass.
    """
    from tui.core.prelabel.run import run_prelabel

    def report(what: str) -> Callable[[int, int, int], None] | None:
        return None if progress is None else (lambda done, total, _cached: progress(what, done, total))

    n_new, quick = 0, None
    if needs_prelabels(store):
        quick = run_prelabel(store, codebook, backend, where=UNLABELLED, codes=False, learn_from_coders=False,
                             first=first, progress=report("pre-labelling"), should_stop=should_stop)
        n_new = quick.n_scored
        if quick.status != "finished":
            return Outcome(quick, n_new)
    if progress is not None:  # the codes are embedded before the first post: say what is going on
        progress("pre-labelling codes", 0, store.count_posts())
    if not embed_codes(store, codebook, backend, should_stop):
        return Outcome(quick, n_new)
    full = run_prelabel(store, codebook, backend, first=first, progress=report("pre-labelling codes"),
                        should_stop=should_stop)
    if full.learned is not None:
        record_learning(store, full.learned)
    return Outcome(full, n_new)


def embed_codes(store: Store, codebook: Any, backend: Backend, should_stop: Callable[[], bool] | None = None) -> bool:
    """Embed and cache the codes `run_prelabel` suggests from, a few at a time; False if told to stop first.

    `run_prelabel` embeds them all in one call before its first post, which a stop cannot interrupt:
    the default model took over a minute and a half for the study codebook on a busy machine.
    """
    import numpy as np

    from tui.core.prelabel.cache import cached_vectors, put_vector
    from tui.core.prelabel.prompts import code_text, code_text_hash

    texts = {code_text_hash(t): t for t in (code_text(codebook, c) for c in codebook.codes() if c.level in (2, 3))}
    conn = store.db.conn
    have = cached_vectors(conn, list(texts), backend.embed_hash)
    todo = [h for h in texts if h not in have]
    for at in range(0, len(todo), CODE_BATCH):
        if should_stop is not None and should_stop():
            return False
        chunk = todo[at:at + CODE_BATCH]
        vectors = backend.embed([texts[h] for h in chunk])
        with conn:
            for h, v in zip(chunk, vectors, strict=True):
                put_vector(conn, h, backend.embed_hash, np.asarray(v, dtype=np.float32))
    return True


def has_prelabel(store: Store, post_id: int) -> bool:
    """True once the post has a relevance pre-label (the background worker commits one post at a time)."""
    return store.db.conn.execute("SELECT 1 FROM suggestions WHERE post_id = ? AND kind = 'relevance'",
                                 (post_id,)).fetchone() is not None


def other_model(store: Store, model_hash: str) -> bool:
    """True when the project was pre-labelled with another model: the app then leaves it to `P` or the CLI."""
    last = last_settings(store)["model_hash"]
    return bool(last) and last != model_hash


def queue_first(posts: Sequence[int], index: int) -> list[int]:
    """The coder's walk from the post on screen onwards, then the posts before it: the order to score in."""
    return [*posts[index:], *posts[:index]]


def lower_priority() -> bool:
    """Give the calling thread the lowest CPU priority (Linux, where a thread has its own nice value).

    Threads that llama.cpp starts from this thread inherit it, so the interface keeps its core.
    Elsewhere `setpriority` would renice a process, not a thread: nothing is done there.
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:
        return False
    return True


def _last_seq(store: Store) -> int:
    row = store.db.conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


def _record(store: Store) -> dict[str, Any]:
    try:
        data = json.loads(store.meta(LEARNED_KEY) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def new_decisions(store: Store) -> int:
    """Decisions (relevance, codes) made since the app last learned from them, by any coder."""
    seen = _record(store).get("seq", 0)
    row = store.db.conn.execute(
        f"SELECT count(*) FROM events WHERE seq > ? AND kind IN ({', '.join('?' * len(_DECISIONS))})",
        (seen if isinstance(seen, int) else 0, *_DECISIONS)).fetchone()
    return int(row[0])


def learning_due(store: Store, every: int) -> bool:
    """True once `every` new decisions came in and there are pre-labels to learn beside (0: never)."""
    return every > 0 and bool(last_settings(store)["embed_hash"]) and new_decisions(store) >= every


def record_learning(store: Store, summary: LearnSummary, seq: int | None = None) -> None:
    """Keep what learning found (and the last event it saw) for the report screen and the next trigger."""
    total = store.db.conn.execute(
        f"SELECT count(*) FROM events WHERE kind IN ({', '.join('?' * len(_DECISIONS))})", _DECISIONS).fetchone()[0]
    data = {"seq": _last_seq(store) if seq is None else seq, "decisions": int(total), "at": utcnow(),
            "n_labelled": summary.n_labelled, "n_relevant": summary.n_relevant, "folds": summary.folds,
            "applied": summary.applied_relevance, "learned": summary.learned, "llm": summary.llm,
            "n_blind": summary.n_blind, "learned_blind": summary.learned_blind, "llm_blind": summary.llm_blind,
            "reason": summary.reason}
    with store.db.conn:
        store.set_meta(LEARNED_KEY, json.dumps(data))


def relearn(store: Store, codebook: Any) -> LearnSummary:
    """Learn from the coders' decisions again (new suggestions for every post) and record what it found."""
    from tui.core.prelabel.learn import learn

    seq = _last_seq(store)  # decisions arriving while it learns count towards the next time
    summary = learn(store, codebook)
    record_learning(store, summary, seq)
    return summary


def _figure(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "n/a"


def learning_note(store: Store) -> str:
    """One line for the report: when the learned screen was last refreshed and its cross-validated figures."""
    data = _record(store)
    if not data:
        return ""
    n = data.get("decisions", 0)
    learned, llm = data.get("learned") or {}, data.get("llm") or {}
    if not data.get("folds") or not isinstance(learned, dict) or not isinstance(llm, dict):
        return f"Learned screen: not fitted after {n} decisions. {data.get('reason') or ''}".strip()
    figures = (f"{data['folds']}-fold cross-validated accuracy {_figure(learned.get('accuracy'))}, "
               f"kappa {_figure(learned.get('kappa'))} on {data.get('n_labelled', 0)} screened posts "
               f"(model alone: accuracy {_figure(llm.get('accuracy'))}, kappa {_figure(llm.get('kappa'))})")
    blind, blind_llm = data.get("learned_blind") or {}, data.get("llm_blind") or {}
    if data.get("n_blind") and isinstance(blind, dict) and isinstance(blind_llm, dict):
        figures += (f"; on the {data['n_blind']} blind posts alone, which no suggestion influenced: accuracy "
                    f"{_figure(blind.get('accuracy'))} (model alone {_figure(blind_llm.get('accuracy'))})")
    else:
        figures += "; no blind post decided yet"
    if data.get("applied"):
        return f"Learned screen refreshed after {n} decisions: {figures}."
    return f"Learned screen not used after {n} decisions, as it did not beat the model alone: {figures}."
