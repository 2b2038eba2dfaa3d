"""How good a screen or a code ranking is: folds for cross-validation, AUC, recall@k and mean average precision."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tui.core.sync.agreement import binary_scores

__all__ = ["Indices", "auc", "binary_metrics", "cross_validated", "ranking_scores", "stratified_folds"]

Indices = NDArray[np.intp]


def stratified_folds(y: ArrayLike, k: int, seed: int = 0) -> list[Indices]:
    """k folds of row indices, each class spread evenly, in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(y)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        for i, j in enumerate(idx):
            folds[(start + i) % k].append(int(j))
        start += len(idx)
    return [np.array(sorted(f), dtype=np.intp) for f in folds if f]


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
    labels = np.asarray(y)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = s[labels == 1], s[labels == 0]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    # average ranks for ties
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


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
