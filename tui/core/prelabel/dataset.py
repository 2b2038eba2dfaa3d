"""The project's posts as learning sees them: embeddings, the model's scores and the coders' labels, loaded once."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.cache import cached_scores, cached_vectors, embedded_posts
from tui.core.prelabel.labels import human_labels
from tui.core.prelabel.learners import (
    CodeModel,
    Floats,
    Logistic,
    Reducer,
    dims_for,
    relevance_features,
    standardise_rows,
)
from tui.core.prelabel.metrics import Indices, cross_validated
from tui.core.prelabel.prompts import code_template, code_text, code_text_hash, prompt_hash
from tui.core.prelabel.settings import last_settings
from tui.core.prelabel.suggestions import similarity
from tui.core.project.store import Store

__all__ = ["Dataset"]


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
        self.x: Floats = (np.array([np.frombuffer(r[2], dtype=np.float32) for r in rows], dtype=np.float64)
                          if rows else np.zeros((0, 1)))
        self.reduced: Floats = Reducer(self.x)(self.x) if len(rows) > 2 else self.x
        self.codes = [c for c in codebook.codes() if c.level in (2, 3)]
        self.levels = {c.id: c.level for c in self.codes}
        texts = [code_text_hash(code_text(codebook, c)) for c in self.codes]
        cv = cached_vectors(conn, texts, self.meta["embed_hash"]) if self.meta["embed_hash"] else {}
        self.sims: Floats | None = None
        if self.codes and len(cv) == len(texts) and len(rows):
            self.sims = similarity(self.x, np.array([cv[h] for h in texts]))
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

    def oof_relevance(self, idx: Indices, y: NDArray[np.int_], folds: int, seed: int) -> Floats:
        """Cross-validated learned P(relevant) for the labelled rows."""
        f = relevance_features(self.reduced[:, :dims_for(len(idx))], self.llm_p)[idx]
        return cross_validated(lambda tr, te: Logistic().fit(f[tr], y[tr]).predict(f[te]), len(idx), y, folds, seed)

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
