"""Learning from the coders: fit the small models on their decisions and use them where they beat the model.

The models (`tui.core.prelabel.learners`) run on the cached post embeddings; each is cross-validated
on the posts the coders labelled and applied only if it scores at least as well as the model alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.prelabel.dataset import Dataset
from tui.core.prelabel.learners import CodeModel, Floats, Logistic, dims_for, relevance_features, standardise_rows
from tui.core.prelabel.metrics import binary_metrics, ranking_scores
from tui.core.prelabel.settings import TOP_K
from tui.core.prelabel.suggestions import write_suggestions
from tui.core.project.store import Store

__all__ = ["LearnSummary", "learn"]


@dataclass
class LearnSummary:
    """What learning from the coders found, cross-validated on the posts they labelled."""

    n_labelled: int = 0
    n_relevant: int = 0
    n_coded: int = 0
    folds: int = 0
    applied_relevance: bool = False
    applied_codes: bool = False
    llm: dict[str, float | None] = field(default_factory=dict)
    learned: dict[str, float | None] = field(default_factory=dict)
    codes_zero_shot: dict[str, float] = field(default_factory=dict)
    codes_learned: dict[str, float] = field(default_factory=dict)
    n_written: int = 0
    labels_from: str = ""
    reason: str = ""


def learn(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None, folds: int = 5,
          seed: int = 0, min_labels: int = 20, min_coded: int = 10, top_k: int | None = None,
          write: bool = True) -> LearnSummary:
    """Fit the small models on the coders' decisions, cross-validate them, and use them where they beat the LLM."""
    proj = Dataset(store, codebook, coder)
    summ = LearnSummary(labels_from=proj.labels.source)
    if not proj.ids:
        summ.reason = "No post embeddings yet: run `qualtui prelabel` first."
        return summ
    thr = threshold if threshold is not None else float(proj.meta["threshold"] or codebook.screening.threshold)
    k_top = top_k or int(proj.meta["top_k"] or TOP_K)
    idx, y = proj.relevance_set()
    summ.n_labelled, summ.n_relevant = len(idx), int(y.sum())
    rel_final: Floats | None = None
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(idx) >= min_labels and min(n_pos, n_neg) >= 5:
        summ.folds = min(folds, n_pos, n_neg)
        summ.llm = binary_metrics(y, proj.llm_p[idx], thr)
        summ.learned = binary_metrics(y, proj.oof_relevance(idx, y, summ.folds, seed), thr)
        summ.applied_relevance = (summ.learned["kappa"] or -1.0) >= (summ.llm["kappa"] or -1.0)
        if summ.applied_relevance:
            feats = relevance_features(proj.reduced[:, :dims_for(len(idx))], proj.llm_p)
            rel_final = Logistic().fit(feats[idx], y).predict(feats)
    else:
        summ.reason = (f"Not enough screening decisions to learn from yet: {len(idx)} posts ({n_pos} relevant); "
                       f"learning starts at {min_labels} with at least 5 relevant and 5 irrelevant.")
    codes_final: Floats | None = None
    cidx, cy = proj.code_set()
    summ.n_coded = len(cidx)
    if proj.sims is not None and len(cidx) >= min_coded:
        truth = {proj.ids[int(i)]: {c for c in proj.labels.codes[proj.ids[int(i)]] if proj.levels.get(c) == 2}
                 for i in cidx}
        summ.codes_zero_shot = ranking_scores(truth, proj.ranked(cidx, None))
        oof = proj.oof_codes(cidx, cy, min(folds, len(cidx)), seed)
        summ.codes_learned = ranking_scores(truth, proj.ranked(cidx, oof))
        summ.applied_codes = summ.codes_learned["map"] >= summ.codes_zero_shot["map"]
        if summ.applied_codes:
            z = standardise_rows(proj.sims)
            r = proj.reduced[:, :dims_for(len(cidx))]
            codes_final = CodeModel().fit(r[cidx], z[cidx], cy).predict(r, z)
    elif not summ.reason:
        summ.reason = f"Code suggestions are learned once {min_coded} relevant posts are coded ({len(cidx)} so far)."
    if write and (summ.applied_relevance or summ.applied_codes):
        with store.db.conn as conn:
            for i, pid in enumerate(proj.ids):
                rel = float(rel_final[i]) if rel_final is not None else proj.llm_p[i]
                if np.isnan(rel):
                    continue
                scores = (dict(zip([c.id for c in proj.codes], codes_final[i].tolist(), strict=False))
                          if codes_final is not None else proj.zero_shot(i))
                summ.n_written += write_suggestions(
                    conn, pid, rel, "learned" if rel_final is not None else "llm", scores,
                    "learned" if codes_final is not None else "llm", proj.levels, thr, k_top,
                    proj.meta["model_hash"], proj.meta["prompt_hash"])
    return summ
