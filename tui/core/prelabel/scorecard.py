"""The scorecard: the model's (or the learned) suggestions against the coders' decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core.prelabel.arms import ALL, BLIND, counted
from tui.core.prelabel.cache import relevance_by_post
from tui.core.prelabel.dataset import Dataset
from tui.core.prelabel.graded import graded_relevance, learned_basis, out_of_fold
from tui.core.prelabel.intervals import Measure, measures
from tui.core.prelabel.metrics import auc
from tui.core.prelabel.suggestions import suggested_codes
from tui.core.project.store import Store
from tui.core.sync.agreement import binary_scores

__all__ = ["CodeEval", "EvalReport", "evaluate"]


@dataclass
class CodeEval:
    """Precision and recall of one code's top-k suggestions on the posts the coders coded."""

    code_id: str
    name: str
    support: int
    predicted: int
    tp: int
    precision: float | None
    recall: float | None


@dataclass
class EvalReport:
    """The model-versus-coders scorecard."""

    labels_from: str
    source: str
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    false_negative_rate: float | None
    kappa: float | None
    auc: float | None
    k: int = 3
    n_coded: int = 0
    per_code: list[CodeEval] = field(default_factory=list)
    model_hash: str = ""
    prompt_hash: str = ""
    basis: str = ""  # which scores were graded: the model's own, or the learned screen's out-of-fold ones
    measures: list[Measure] = field(default_factory=list)  # every figure with n and its 95 % interval
    arm: str = ALL  # whose decisions count: blind posts only, shown ones, or all (arms.counted)

    @property
    def n(self) -> int:
        """Posts compared."""
        return self.tp + self.fp + self.fn + self.tn


def evaluate(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None,
             source: str = "llm", k: int = 3, folds: int = 5, seed: int = 0, arm: str = BLIND) -> EvalReport:
    """Model versus coders: confusion matrix, accuracy, FNR, kappa, AUC, and per-code top-k precision/recall.

    source: 'llm' (the model's own scores), 'learned' (cross-validated, so never scored on its training
    posts) or 'suggestions' (what is stored now, with the learned screen's scores on the decisions it was
    fitted on replaced by out-of-fold predictions, so never graded on its own fit either).
    arm: 'blind' (default) compares only decisions made with no suggestion on screen; 'shown', 'all'.
    """
    if source not in ("llm", "learned", "suggestions"):
        raise ValueError(f"unknown source {source!r}")
    proj = Dataset(store, codebook, coder)
    thr = threshold if threshold is not None else float(proj.meta["threshold"] or codebook.screening.threshold)
    labels = proj.labels
    conn = store.db.conn
    scores: dict[int, float] = {}
    used = 0
    if source == "suggestions":
        graded = graded_relevance(store, codebook, labels.relevance, folds=folds, seed=seed)
        scores = graded.scores
    elif source == "llm":
        scores = relevance_by_post(conn, proj.meta["model_hash"], proj.meta["prompt_hash"])
    else:
        scores, used = out_of_fold(proj, folds, seed, at=thr)
    keep = counted(conn, coder, arm)
    pids = sorted(p for p in labels.relevance if p in scores and keep(p))
    if source == "suggestions":
        basis = graded.basis()
    elif source == "llm":
        basis = f"The model's own scores on {len(pids)} decisions; it learned nothing from them."
    else:
        basis = "L" + learned_basis(used, len(pids))[1:] + "."
    truth = [labels.relevance[p] for p in pids]
    probs = [scores[p] for p in pids]
    bs = binary_scores(truth, [int(p >= thr) for p in probs])
    report = EvalReport(labels.source, source, thr, bs.tp, bs.fp, bs.fn, bs.tn, bs.accuracy, bs.precision, bs.recall,
                        bs.false_negative_rate, bs.kappa, auc(truth, probs), k=k,
                        model_hash=proj.meta["model_hash"], prompt_hash=proj.meta["prompt_hash"], basis=basis,
                        measures=measures(bs, truth, probs, thr), arm=arm)
    code_scores: dict[int, dict[str, float]] = {}
    cidx, cy = proj.code_set()
    # Learned code suggestions on coded posts are the learned model's fit on those posts: graded out of fold.
    if source == "suggestions" and not _learned_codes(conn):
        for pid, cid, sc in suggested_codes(conn):
            if proj.levels.get(cid) == 2:
                code_scores.setdefault(pid, {})[cid] = sc
    elif source == "llm":
        code_scores = proj.ranked(cidx, None)
    elif proj.sims is not None and len(cidx) >= 4:
        code_scores = proj.ranked(cidx, proj.oof_codes(cidx, cy, min(folds, len(cidx)), seed))
    coded = {p: {c for c in cs if proj.levels.get(c) == 2} for p, cs in labels.codes.items()
             if p in code_scores and keep(p)}
    report.n_coded = len(coded)
    for code in (c for c in proj.codes if c.level == 2):
        support = sum(code.id in cs for cs in coded.values())
        predicted = tp = 0
        for pid, cs in coded.items():
            top = sorted(code_scores[pid], key=lambda c: -code_scores[pid][c])[:k]
            if code.id in top:
                predicted += 1
                tp += code.id in cs
        if support or predicted:
            report.per_code.append(CodeEval(code.id, code.name, support, predicted, tp,
                                            tp / predicted if predicted else None, tp / support if support else None))
    return report


def _learned_codes(conn: Any) -> bool:
    """Whether the stored code suggestions come from the learned code model."""
    return conn.execute("SELECT 1 FROM suggestions WHERE kind = 'code' AND source = 'learned' LIMIT 1").fetchone() \
        is not None
