"""The scorecard: the model's (or the learned) suggestions against the coders' decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui.core.prelabel.cache import relevance_by_post
from tui.core.prelabel.dataset import Dataset
from tui.core.prelabel.metrics import auc
from tui.core.prelabel.suggestions import suggested_codes, suggested_relevance
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

    @property
    def n(self) -> int:
        """Posts compared."""
        return self.tp + self.fp + self.fn + self.tn


def evaluate(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None,
             source: str = "llm", k: int = 3, folds: int = 5, seed: int = 0) -> EvalReport:
    """Model versus coders: confusion matrix, accuracy, FNR, kappa, AUC, and per-code top-k precision/recall.

    source: 'llm' (the model's own scores), 'learned' (cross-validated, so never scored on its training
    posts) or 'suggestions' (whatever is stored now; optimistic once learned from these very posts).
    """
    if source not in ("llm", "learned", "suggestions"):
        raise ValueError(f"unknown source {source!r}")
    proj = Dataset(store, codebook, coder)
    thr = threshold if threshold is not None else float(proj.meta["threshold"] or codebook.screening.threshold)
    labels = proj.labels
    conn = store.db.conn
    scores: dict[int, float] = {}
    if source == "suggestions":
        scores = suggested_relevance(conn)
    elif source == "llm":
        scores = relevance_by_post(conn, proj.meta["model_hash"], proj.meta["prompt_hash"])
    else:
        idx, y = proj.relevance_set()
        if min(int(y.sum()), int(len(y) - y.sum())) >= 2:
            oof = proj.oof_relevance(idx, y, min(folds, int(y.sum()), int(len(y) - y.sum())), seed, at=thr)
            scores = {proj.ids[int(i)]: float(p) for i, p in zip(idx, oof, strict=False)}
    pids = sorted(p for p in labels.relevance if p in scores)
    truth = [labels.relevance[p] for p in pids]
    probs = [scores[p] for p in pids]
    bs = binary_scores(truth, [int(p >= thr) for p in probs])
    report = EvalReport(labels.source, source, thr, bs.tp, bs.fp, bs.fn, bs.tn, bs.accuracy, bs.precision, bs.recall,
                        bs.false_negative_rate, bs.kappa, auc(truth, probs), k=k,
                        model_hash=proj.meta["model_hash"], prompt_hash=proj.meta["prompt_hash"])
    code_scores: dict[int, dict[str, float]] = {}
    cidx, cy = proj.code_set()
    if source == "suggestions":
        for pid, cid, sc in suggested_codes(conn):
            if proj.levels.get(cid) == 2:
                code_scores.setdefault(pid, {})[cid] = sc
    elif source == "llm":
        code_scores = proj.ranked(cidx, None)
    elif proj.sims is not None and len(cidx) >= 4:
        code_scores = proj.ranked(cidx, proj.oof_codes(cidx, cy, min(folds, len(cidx)), seed))
    coded = {p: {c for c in cs if proj.levels.get(c) == 2} for p, cs in labels.codes.items() if p in code_scores}
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
