"""How good a screen or a code ranking is: folds, AUC, the threshold for a target false-negative rate, recall@k, MAP."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tui.core.sync.agreement import binary_scores

__all__ = [
    "Indices", "auc", "binary_metrics", "choose_threshold", "cross_validated", "ranking_scores", "stratified_folds",
]

Indices = NDArray[np.intp]
SHRINK = 10.0  # relevant posts' worth of weight on the prior cut (measured on the SMS corpus, docs/prelabel.md)


def stratified_folds(y: ArrayLike, k: int, seed: int = 0) -> list[Indices]:
    """k folds of row indices, each class spread evenly, in a seeded random order (scikit-learn's StratifiedKFold)."""
    from sklearn.model_selection import KFold, StratifiedKFold  # here: a second to load, and it may load Rich

    labels = np.asarray(y)
    k = max(2, min(k, len(labels)))
    if len(labels) < 2:
        return [np.arange(len(labels), dtype=np.intp)] if len(labels) else []
    counts = np.unique(labels, return_counts=True)[1]
    splitter = (StratifiedKFold(k, shuffle=True, random_state=seed) if counts.min() >= k
                else KFold(k, shuffle=True, random_state=seed))
    return [np.sort(test).astype(np.intp) for _, test in splitter.split(np.zeros(len(labels)), labels)]


def cross_validated(fit_predict: Callable[[Indices, Indices], ArrayLike], n: int, y: ArrayLike, folds: int,
                    seed: int) -> NDArray[np.float64]:
    """Out-of-fold predictions: fit_predict(train_idx, test_idx) -> predictions for test_idx."""
    out: NDArray[np.float64] | None = None
    for test in stratified_folds(y, folds, seed):
        train = np.setdiff1d(np.arange(n), test)
        pred = np.asarray(fit_predict(train, test))
        if out is None:
            out = np.zeros((n, *pred.shape[1:]))
        out[test] = pred
    assert out is not None
    return out


def auc(y: ArrayLike, score: ArrayLike) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    from sklearn.metrics import roc_auc_score  # here: a second to load, and it may load Rich

    labels = np.asarray(y)
    if len(set(labels.tolist())) < 2:
        return None
    return float(roc_auc_score(labels, np.asarray(score, dtype=np.float64)))


def choose_threshold(y: ArrayLike, p: ArrayLike, target_fnr: float, prior: float = 0.5,
                     shrink: float = SHRINK) -> float:
    """The cut on out-of-fold probabilities p at which the expected false-negative rate is the target.

    It is the target quantile of a normal distribution fitted to the relevant posts' log-odds (smoother
    than the empirical quantile, which with ten relevant posts can only miss 0 or 1 of them), pulled
    towards `prior` (0.5: the class-balanced model's own cut) with weight shrink / (shrink + relevant
    posts), because a cut estimated from a few relevant posts is noisy (measured, docs/prelabel.md).
    """
    labels, probs = np.asarray(y), np.asarray(p, dtype=np.float64)
    pos = np.clip(probs[labels == 1], 1e-6, 1 - 1e-6)
    if len(pos) < 2:
        return prior
    z = np.log(pos / (1 - pos))
    cut = float(z.mean() + NormalDist().inv_cdf(min(max(target_fnr, 1e-6), 0.5)) * z.std(ddof=1))
    w = len(pos) / (len(pos) + shrink)
    mixed = w * cut + (1 - w) * math.log(prior / (1 - prior))
    return 1 / (1 + math.exp(-max(min(mixed, 35.0), -35.0)))


def ranking_scores(truth: Mapping[int, set[str]], scores: Mapping[int, Mapping[str, float]],
                   k: int = 5) -> dict[str, float]:
    """Mean recall@k and mean average precision of per-post code rankings against the coders' codes."""
    recalls, aps = [], []
    for pid, gold in truth.items():
        if not gold or pid not in scores:
            continue
        ranked = sorted(scores[pid], key=lambda c: -scores[pid][c])
        recalls.append(len(gold.intersection(ranked[:k])) / len(gold))
        hits, total = 0, 0.0
        for i, c in enumerate(ranked, 1):
            if c in gold:
                hits += 1
                total += hits / i
        aps.append(total / len(gold))
    if not recalls:
        return {"posts": 0, f"recall@{k}": float("nan"), "map": float("nan")}
    return {"posts": len(recalls), f"recall@{k}": float(np.mean(recalls)), "map": float(np.mean(aps))}


def binary_metrics(y: ArrayLike, p: ArrayLike, threshold: float) -> dict[str, float | None]:
    """Accuracy, false-negative rate, kappa, precision, recall and AUC of probabilities p against 0/1 labels y."""
    labels = np.asarray(y)
    probs = np.asarray(p, dtype=np.float64)
    probs = np.where(np.isnan(probs), 0.5, probs)
    s = binary_scores(labels.astype(int).tolist(), (probs >= threshold).astype(int).tolist())
    return {"accuracy": s.accuracy, "false_negative_rate": s.false_negative_rate, "kappa": s.kappa,
            "precision": s.precision, "recall": s.recall, "auc": auc(labels, probs)}
