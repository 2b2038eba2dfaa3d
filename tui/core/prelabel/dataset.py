"""The project's posts as learning sees them: text, embeddings, model scores and the coders' labels, loaded once."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.cache import cached_scores, cached_vectors, embedded_posts
from tui.core.prelabel.labels import human_labels
from tui.core.prelabel.learners import (
    MAX_VOCAB_POSTS,
    CodeModel,
    Floats,
    Reducer,
    RelevanceModel,
    TextFeatures,
    decision_scores,
    dims_for,
    relevance_features,
    standardise_rows,
)
from tui.core.prelabel.metrics import Indices, choose_threshold, cross_validated
from tui.core.prelabel.prompts import code_template, code_text, code_text_hash, post_text, prompt_hash
from tui.core.prelabel.settings import TARGET_FNR, last_settings
from tui.core.prelabel.suggestions import similarity
from tui.core.project.store import Store

__all__ = ["CHUNK", "Dataset", "Screen"]

CHUNK = 2000  # posts turned into TF-IDF rows at a time when predicting, so memory stays flat


class Dataset:
    """The labelled and unlabelled posts with their cached embeddings and LLM scores, loaded once."""

    def __init__(self, store: Store, codebook: Any, coder: str | None) -> None:
        self.store, self.codebook = store, codebook
        self.meta = last_settings(store)
        self.labels = human_labels(store, codebook, coder)
        conn = store.db.conn
        rows = embedded_posts(conn, self.meta["embed_hash"], self.meta["model_hash"], self.meta["prompt_hash"])
        self.ids = [r[0] for r in rows]
        self.hashes = [r[1] for r in rows]
        self.index = {pid: i for i, pid in enumerate(self.ids)}
        self.llm_p: Floats = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
        # Embeddings count only when every scored post has one (a run with --no-codes makes none): learning
        # then uses the text and the model's score alone rather than mixing posts with and without them.
        self.has_vectors = bool(rows) and all(r[2] is not None for r in rows)
        self.x: Floats = (np.array([np.frombuffer(r[2], dtype=np.float32) for r in rows if r[2] is not None],
                                   dtype=np.float64) if self.has_vectors else np.zeros((len(rows), 0)))
        self.reduced: Floats = Reducer(self.x)(self.x) if self.has_vectors and len(rows) > 2 else self.x
        self.codes = [c for c in codebook.codes() if c.level in (2, 3)]
        self.levels = {c.id: c.level for c in self.codes}
        texts = [code_text_hash(code_text(codebook, c)) for c in self.codes]
        cv = cached_vectors(conn, texts, self.meta["embed_hash"]) if self.meta["embed_hash"] else {}
        self.sims: Floats | None = None
        if self.codes and len(cv) == len(texts) and self.has_vectors:
            self.sims = similarity(self.x, np.array([cv[h] for h in texts]))
        self.threshold = float(self.meta["threshold"] or getattr(codebook.screening, "threshold", 0.5))
        self.target_fnr = float(getattr(codebook.screening, "target_fnr", TARGET_FNR))
        self.yesno: dict[str, dict[str, float]] = {}
        if self.meta["code_method"] == "yesno":
            wanted = {c.id: prompt_hash(code_template(codebook, c)) for c in self.codes}
            self.yesno = cached_scores(conn, self.hashes, self.meta["model_hash"], wanted, "code")

    def relevance_set(self) -> tuple[Indices, NDArray[np.int_]]:
        """Row indices of coder-screened posts that have embeddings, and their 0/1 labels."""
        idx = np.array(sorted(self.index[p] for p in self.labels.relevance if p in self.index), dtype=np.intp)
        return idx, np.array([self.labels.relevance[self.ids[i]] for i in idx], dtype=np.int_)

    def code_set(self) -> tuple[Indices, Floats]:
        """Row indices of coder-coded relevant posts, and their posts x codes 0/1 matrix."""
        idx = np.array(sorted(self.index[p] for p, cs in self.labels.codes.items() if cs and p in self.index),
                       dtype=np.intp)
        y = np.array([[c.id in self.labels.codes[self.ids[i]] for c in self.codes] for i in idx], dtype=float)
        return idx, y.reshape(len(idx), len(self.codes))

    def zero_shot(self, i: int) -> dict[str, float] | None:
        """The un-learned code scores of row i: yes/no answers, else similarities mapped to 0..1."""
        if self.yesno:
            return self.yesno.get(self.hashes[i])
        if self.sims is None:
            return None
        return {c.id: float((self.sims[i, j] + 1) / 2) for j, c in enumerate(self.codes)}

    @cached_property
    def texts(self) -> list[str]:
        """Each row's post text as the model sees it (title and body)."""
        rows = dict((r[0], r[1:]) for r in self.store.db.conn.execute("SELECT id, title, text FROM posts"))
        return [post_text({"title": rows[p][0], "text": rows[p][1]}) if p in rows else "" for p in self.ids]

    @cached_property
    def text_features(self) -> TextFeatures:
        """TF-IDF fitted on the labelled posts and a seeded sample of the others (labels unused)."""
        labelled = [self.index[p] for p in self.labels.relevance if p in self.index]
        others = np.setdiff1d(np.arange(len(self.ids)), labelled)
        room = max(0, MAX_VOCAB_POSTS - len(labelled))
        if len(others) > room:
            others = np.random.default_rng(0).choice(others, room, replace=False)
        return TextFeatures([self.texts[int(i)] for i in [*labelled, *others.tolist()]])

    @cached_property
    def _labelled_text(self) -> tuple[dict[int, int], Any]:
        """TF-IDF rows of the labelled posts, computed once: every fold and draw reuses them."""
        rows = sorted({self.index[p] for p in self.labels.relevance if p in self.index})
        return {r: i for i, r in enumerate(rows)}, self.text_features([self.texts[r] for r in rows])

    def text_rows(self, rows: Indices) -> Any:
        """Sparse TF-IDF rows of these posts."""
        at, matrix = self._labelled_text
        if all(int(r) in at for r in rows):
            return matrix[[at[int(r)] for r in rows]]
        return self.text_features([self.texts[int(i)] for i in rows])

    def relevance_model(self, rows: Indices, y: NDArray[np.int_], folds: int = 5, seed: int = 0) -> Screen:
        """The relevance screen fitted on these rows and labels (both classes needed)."""
        return Screen(self, rows, y, folds, seed)

    def oof_relevance(self, idx: Indices, y: NDArray[np.int_], folds: int, seed: int,
                      at: float | None = None) -> Floats:
        """Cross-validated decision scores of the labelled rows: each fold's screen and threshold never saw them.

        Scores are shifted so that the threshold chosen inside each fold (for the target false-negative
        rate) sits at `at` (default: the run's threshold), so `score >= at` is the learned decision.
        """
        cut = self.threshold if at is None else at

        def fold(tr: Indices, te: Indices) -> Floats:
            screen = self.relevance_model(idx[tr], y[tr], folds, seed)
            return decision_scores(screen.predict(idx[te]), choose_threshold(y[tr], screen.oof, self.target_fnr), cut)

        return cross_validated(fold, len(idx), y, folds, seed)

    def oof_codes(self, idx: Indices, y: Floats, folds: int, seed: int) -> Floats:
        """Cross-validated learned code probabilities for the coded rows."""
        assert self.sims is not None
        r, z = self.reduced[idx, :dims_for(len(idx))], standardise_rows(self.sims[idx])
        return cross_validated(lambda tr, te: CodeModel().fit(r[tr], z[tr], y[tr]).predict(r[te], z[te]),
                               len(idx), np.zeros(len(idx), dtype=int), folds, seed)

    def ranked(self, idx: Indices, scores: Floats | None) -> dict[int, dict[str, float]]:
        """post id -> code (level 2) -> score, from a matrix of learned scores or the zero-shot scores."""
        out: dict[int, dict[str, float]] = {}
        for row, i in enumerate(idx):
            if scores is None:
                zs = self.zero_shot(int(i))
                if zs is None:
                    continue
            else:
                zs = {c.id: float(scores[row, j]) for j, c in enumerate(self.codes)}
            out[self.ids[int(i)]] = {c: v for c, v in zs.items() if self.levels.get(c) == 2}
        return out


class Screen:
    """A relevance model fitted on some rows of a Dataset, with its out-of-fold probabilities on them."""

    def __init__(self, proj: Dataset, rows: Indices, y: NDArray[np.int_], folds: int, seed: int) -> None:
        self.proj, self.dims = proj, dims_for(len(rows))
        self.model = RelevanceModel(folds, seed).fit(proj.text_rows(rows), self._embedded(rows), y)
        self.oof: Floats = self.model.oof

    def _embedded(self, rows: Indices) -> Floats:
        return relevance_features(self.proj.reduced[rows, :self.dims], self.proj.llm_p[rows])

    def predict(self, rows: Indices | None = None) -> Floats:
        """P(relevant) of these rows (default: every post), a chunk at a time."""
        todo = np.arange(len(self.proj.ids), dtype=np.intp) if rows is None else np.asarray(rows, dtype=np.intp)
        out = np.zeros(len(todo))
        for start in range(0, len(todo), CHUNK):
            part = todo[start:start + CHUNK]
            out[start:start + CHUNK] = self.model.predict(self.proj.text_rows(part), self._embedded(part))
        return out
