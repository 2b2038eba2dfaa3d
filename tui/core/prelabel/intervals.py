"""How sure a scorecard can be: n and a 95 % interval for every figure of a screen against the coders.

Proportions (accuracy, precision, recall, false-negative rate) get Wilson score intervals, which
stay inside 0..1 and keep their coverage at small n and near 0 or 1, where the textbook
p ± 1.96·√(p(1-p)/n) does not. Kappa, F1 and AUC are not simple proportions: they get a seeded
percentile bootstrap (posts drawn with replacement, `RESAMPLES` times, the same seed every time, so
the same decisions always print the same interval). A figure that is undefined (recall without a
single relevant post) has value, low and high None, shown as "n/a", never as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tui.core.prelabel.metrics import auc
from tui.core.sync.agreement import BinaryScores

__all__ = ["RESAMPLES", "SEED", "Z95", "Measure", "bootstrap_intervals", "interval_text", "measures",
           "value_text", "weighted_auc", "wilson"]

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
RESAMPLES = 2000
SEED = 20250101  # fixed: the interval is part of the printed result, so it must not change between runs
_CELLS = 2_000_000  # resamples x posts held in memory at once (about 16 MB of counts)


@dataclass(frozen=True)
class Measure:
    """One figure of a scorecard with its denominator and 95 % interval (None where undefined)."""

    name: str
    value: float | None
    lo: float | None
    hi: float | None
    n: int  # posts the figure is a share of (accuracy: all compared; recall: the relevant ones; ...)
    method: str  # "Wilson" or "bootstrap"


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of successes/n (None when n is 0)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def weighted_auc(y: NDArray[np.int_], score: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUC (ties count half) of each row of `weights` (resamples x posts) over the same posts; NaN if one class."""
    order = np.argsort(score, kind="mergesort")
    return _sorted_auc(score[order], y[order] == 1, weights[:, order])


def _sorted_auc(s: NDArray[np.float64], pos: NDArray[np.bool_], w: NDArray[Any]) -> NDArray[np.float64]:
    """weighted_auc on posts already sorted by score."""
    pos_w = w * pos
    neg_w = w - pos_w
    if len(s) > 1 and bool((s[1:] == s[:-1]).any()):
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # tied scores sit together once sorted
        pos_w, neg_w = np.add.reduceat(pos_w, starts, axis=1), np.add.reduceat(neg_w, starts, axis=1)
    # Each positive beats the negatives below it and ties half of those level with it.
    beaten = np.cumsum(neg_w, axis=1)
    beaten -= neg_w / 2
    # Sums in float64 whatever the weights' type: float32 counts and half-counts are exact, their sums need not be.
    won = (pos_w * beaten).sum(axis=1, dtype=np.float64)
    pairs = pos_w.sum(axis=1, dtype=np.float64) * neg_w.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: NDArray[np.float64] = np.where(pairs > 0, won / np.where(pairs > 0, pairs, 1.0), np.nan)
    return out


def _kappa_f1(tp: NDArray[np.float64], fp: NDArray[np.float64], fn: NDArray[np.float64],
              tn: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = tp + fp + fn + tn
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        # One category on both sides for every post: 1.0, as tui.core.sync.agreement defines it.
        kappa = np.where(pe < 1, (po - pe) / np.where(pe < 1, 1 - pe, 1.0), 1.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    return kappa, f1


def _percentiles(vals: NDArray[np.float64]) -> tuple[float, float] | None:
    vals = vals[~np.isnan(vals)]
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if len(vals) else None


def bootstrap_intervals(truth: Sequence[int], probs: Sequence[float], threshold: float,
                        resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, tuple[float, float] | None]:
    """Percentile 95 % intervals of kappa, F1 and AUC over seeded resamples of the posts (None: undefined).

    Kappa and F1 depend on the posts only through the four cells of the confusion matrix, so a resample
    of the posts is a multinomial draw of the cell counts: exact, and as fast for 100,000 posts as for 10.
    AUC needs every post's score; above `_CELLS` posts x resamples it uses fewer resamples, never under 1,000.
    """
    y = np.asarray(truth, dtype=np.int_)
    s = np.asarray(probs, dtype=np.float64)
    n = len(y)
    if n == 0:
        return {"kappa": None, "f1": None, "auc": None}
    pred = s >= threshold
    cells = np.array([((y == 1) & pred).sum(), ((y == 0) & pred).sum(), ((y == 1) & ~pred).sum(),
                      ((y == 0) & ~pred).sum()], dtype=np.float64)
    rng = np.random.default_rng(seed)
    tp, fp, fn, tn = rng.multinomial(n, cells / n, size=resamples).T.astype(np.float64)
    kappa, f1 = _kappa_f1(tp, fp, fn, tn)
    order = np.argsort(s, kind="mergesort")
    s_sorted, pos = s[order], y[order] == 1
    # Resampling positions in score order is resampling the posts: no reordering per resample needed.
    total = max(min(resamples, 1000), min(resamples, _CELLS // n))
    step = max(1, min(total, _CELLS // n))
    areas = []
    for start in range(0, total, step):
        m = min(step, total - start)
        draws = rng.integers(0, n, size=(m, n)) + (np.arange(m) * n)[:, None]
        # float32 holds every count and half-count exactly (n is far below 2**24) at half the memory traffic.
        weights = np.bincount(draws.ravel(), minlength=m * n).reshape(m, n).astype(np.float32)
        areas.append(_sorted_auc(s_sorted, pos, weights))
    return {"kappa": _percentiles(kappa), "f1": _percentiles(f1), "auc": _percentiles(np.concatenate(areas))}


def measures(scores: BinaryScores, truth: Sequence[int], probs: Sequence[float], threshold: float,
             resamples: int = RESAMPLES, seed: int = SEED) -> list[Measure]:
    """Every figure of a screen's scorecard with n and its 95 % interval, in the order a card prints them."""
    b = scores
    boot = bootstrap_intervals(truth, probs, threshold, resamples, seed)
    area = auc(truth, probs) if len(truth) else None

    def prop(name: str, value: float | None, hits: int, n: int) -> Measure:
        ci = wilson(hits, n) if value is not None else None
        return Measure(name, value, ci[0] if ci else None, ci[1] if ci else None, n, "Wilson")

    def boot_m(name: str, key: str, value: float | None) -> Measure:
        ci = boot[key] if value is not None else None
        return Measure(name, value, ci[0] if ci else None, ci[1] if ci else None, b.n, "bootstrap")

    return [prop("accuracy", b.accuracy, b.tp + b.tn, b.n),
            prop("precision", b.precision, b.tp, b.tp + b.fp),
            prop("recall", b.recall, b.tp, b.tp + b.fn),
            prop("false-negative rate", b.false_negative_rate, b.fn, b.tp + b.fn),
            boot_m("F1", "f1", b.f1),
            boot_m("Cohen's kappa", "kappa", b.kappa),
            boot_m("AUC", "auc", area)]


def value_text(value: float | None, digits: int = 3) -> str:
    """A figure as printed on a card: rounded, or "n/a" when undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def interval_text(m: Measure, digits: int = 3) -> str:
    """The 95 % interval as printed on a card, "0.756–0.899", or "n/a"."""
    if m.lo is None or m.hi is None:
        return "n/a"
    return f"{m.lo:.{digits}f}–{m.hi:.{digits}f}"
