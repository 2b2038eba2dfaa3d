"""Learning from the coders: fit the small models on their decisions and use them where they beat the model.

The models (`tui.core.prelabel.learners`) run on the posts' text (TF-IDF) and cached embeddings; each
is cross-validated on the posts the coders labelled and applied only if it scores at least as well as
the model alone. The relevance screen's threshold is chosen from the coders' decisions for the
codebook's target false-negative rate (`screening.target_fnr`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.prelabel.arms import BLIND, counted
from tui.core.prelabel.dataset import Dataset
from tui.core.prelabel.learners import CodeModel, Floats, decision_scores, dims_for, standardise_rows
from tui.core.prelabel.metrics import binary_metrics, choose_threshold, ranking_scores
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
    threshold: float = 0.5  # the run's cut on P(relevant)
    learned_threshold: float | None = None  # the learned screen's cut on its own probability
    target_fnr: float = 0.0
    llm: dict[str, float | None] = field(default_factory=dict)
    learned: dict[str, float | None] = field(default_factory=dict)
    n_blind: int = 0  # labelled posts in the blind arm: the figures below are the unflattered ones
    llm_blind: dict[str, float | None] = field(default_factory=dict)
    learned_blind: dict[str, float | None] = field(default_factory=dict)
    codes_zero_shot: dict[str, float] = field(default_factory=dict)
    codes_learned: dict[str, float] = field(default_factory=dict)
    n_written: int = 0
    labels_from: str = ""
    reason: str = ""  # why the relevance screen was not learned
    codes_reason: str = ""  # why code suggestions were not learned

    def lines(self) -> list[str]:
        """What learning did, in plain sentences: the relevance screen first, then the code suggestions."""
        out = [self.reason] if self.reason else [self._relevance_line()]
        if self.codes_reason:
            out.append(self.codes_reason)
        elif self.codes_zero_shot:
            zs, lc = self.codes_zero_shot, self.codes_learned
            out.append(f"Code suggestions learned from {self.n_coded} coded posts: mean average precision "
                       f"{zs.get('map', float('nan')):.2f} → {lc.get('map', float('nan')):.2f} cross-validated"
                       + ("; applied." if self.applied_codes else "; not applied (no gain)."))
        return out

    def _relevance_line(self) -> str:
        def f(d: dict[str, float | None], key: str) -> str:
            v = d.get(key)
            return "—" if v is None else f"{v:.2f}"

        cut = "" if self.learned_threshold is None else f"threshold {self.learned_threshold:.2f} for "
        return (f"Relevance screen learned from {self.n_labelled} decisions ({self.labels_from}): accuracy "
                f"{f(self.llm, 'accuracy')} → {f(self.learned, 'accuracy')} cross-validated, {cut}FNR ≤ "
                f"{100 * self.target_fnr:.1f} % (cross-validated FNR {f(self.llm, 'false_negative_rate')} → "
                f"{f(self.learned, 'false_negative_rate')})"
                + (f"; on the {self.n_blind} blind posts alone: accuracy {f(self.llm_blind, 'accuracy')} → "
                   f"{f(self.learned_blind, 'accuracy')}" if self.n_blind else "; no blind post decided yet")
                + ("; applied to the remaining posts." if self.applied_relevance
                   else "; not applied: the model alone agrees better with the coders."))


def learn(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None, folds: int = 5,
          seed: int = 0, min_labels: int = 20, min_coded: int = 10, top_k: int | None = None,
          write: bool = True) -> LearnSummary:
    """Fit the small models on the coders' decisions, cross-validate them, and use them where they beat the LLM."""
    proj = Dataset(store, codebook, coder)
    summ = LearnSummary(labels_from=proj.labels.source)
    if not proj.ids:
        summ.reason = "No post has been pre-labelled yet: run `qualtui prelabel` first."
        return summ
    thr = threshold if threshold is not None else proj.threshold
    summ.threshold, summ.target_fnr = thr, proj.target_fnr
    k_top = top_k or int(proj.meta["top_k"] or TOP_K)
    idx, y = proj.relevance_set()
    summ.n_labelled, summ.n_relevant = len(idx), int(y.sum())
    rel_final: Floats | None = None
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(idx) >= min_labels and min(n_pos, n_neg) >= 5:
        summ.folds = min(folds, n_pos, n_neg)
        summ.llm = binary_metrics(y, proj.llm_p[idx], thr)
        oof = proj.oof_relevance(idx, y, summ.folds, seed, at=thr)
        summ.learned = binary_metrics(y, oof, thr)
        # The same out-of-fold predictions graded on blind posts only: decisions no suggestion influenced.
        keep = counted(store.db.conn, coder, BLIND)
        blind = np.array([keep(proj.ids[int(i)]) for i in idx], dtype=bool)
        summ.n_blind = int(blind.sum())
        if summ.n_blind:
            summ.llm_blind = binary_metrics(y[blind], proj.llm_p[idx][blind], thr)
            summ.learned_blind = binary_metrics(y[blind], oof[blind], thr)
        summ.applied_relevance = (summ.learned["kappa"] or -1.0) >= (summ.llm["kappa"] or -1.0)
        screen = proj.relevance_model(idx, y, summ.folds, seed)
        summ.learned_threshold = choose_threshold(y, screen.oof, proj.target_fnr)
        if summ.applied_relevance:
            # Stored as decision scores: `score >= thr` (what the queue, sample and reports read) is the
            # learned decision at the chosen threshold; the order of posts is the model's.
            rel_final = decision_scores(screen.predict(), summ.learned_threshold, thr)
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
    elif proj.sims is None:
        summ.codes_reason = "Code suggestions are not learned: no code embeddings yet (a run without --no-codes)."
    else:
        summ.codes_reason = (f"Code suggestions are learned once {min_coded} relevant posts are coded "
                             f"({len(cidx)} so far).")
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
