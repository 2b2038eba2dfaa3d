"""Intervals of the scorecard: Wilson for proportions, a seeded bootstrap for kappa, F1 and AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.core.prelabel.intervals import (
    RESAMPLES,
    Measure,
    bootstrap_intervals,
    interval_text,
    measures,
    value_text,
    weighted_auc,
    wilson,
)
from tui.core.sync.agreement import binary_scores

# The study's 100 validation posts: TP 31, FP 13, FN 3, TN 53 at the screening threshold.
STUDY = [(1, 0.9)] * 31 + [(0, 0.7)] * 13 + [(1, 0.2)] * 3 + [(0, 0.1)] * 53


def by_hand(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's formula written out once more, the way a textbook prints it."""
    p = x / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def study_card() -> dict[str, Measure]:
    truth, probs = [t for t, _ in STUDY], [p for _, p in STUDY]
    b = binary_scores(truth, [int(p >= 0.5) for p in probs])
    return {m.name: m for m in measures(b, truth, probs, 0.5)}


def test_wilson_for_the_studys_accuracy_is_about_076_to_090() -> None:
    lo, hi = wilson(84, 100)  # type: ignore[misc]
    # Reference values: Newcombe (1998), method 3, and R's prop.test(84, 100, correct = FALSE)$conf.int.
    assert lo == pytest.approx(0.75580, abs=1e-5) and hi == pytest.approx(0.89905, abs=1e-5)
    assert (lo, hi) == pytest.approx(by_hand(84, 100))


@pytest.mark.parametrize(("x", "n", "lo", "hi"), [
    (0, 10, 0.0, 0.27753),  # no success: the interval still reaches 28 %, not the "0 ± 0" of the textbook one
    (10, 10, 0.72247, 1.0),
    (3, 34, 0.03047, 0.22960),  # the study's false-negative rate, 3 of 34 relevant posts missed
    (1, 2, 0.09453, 0.90547),
])
def test_wilson_known_values(x: int, n: int, lo: float, hi: float) -> None:
    assert wilson(x, n) == pytest.approx((lo, hi), abs=1e-5)


def test_wilson_without_posts_is_undefined() -> None:
    assert wilson(0, 0) is None


def test_the_studys_card() -> None:
    card = study_card()
    acc = card["accuracy"]
    assert (acc.value, acc.n, acc.method) == (pytest.approx(0.84), 100, "Wilson")
    assert value_text(acc.value) == "0.840" and interval_text(acc) == "0.756–0.899"
    assert (card["recall"].n, card["false-negative rate"].n, card["precision"].n) == (34, 34, 44)
    assert (card["false-negative rate"].lo, card["false-negative rate"].hi) == pytest.approx(by_hand(3, 34))
    assert (card["precision"].lo, card["precision"].hi) == pytest.approx(by_hand(31, 44))
    kappa = card["Cohen's kappa"]
    assert kappa.value == pytest.approx(0.6672, abs=1e-4) and kappa.method == "bootstrap"
    assert kappa.lo < kappa.value < kappa.hi and 0.45 < kappa.lo < 0.6 and 0.75 < kappa.hi < 0.88
    assert card["AUC"].lo < card["AUC"].value <= card["AUC"].hi <= 1.0
    assert study_card() == card  # seeded: the same decisions print the same interval every time


def test_bootstrap_computes_each_resample_like_scikit_learn() -> None:
    """The same random draws as the module, each resample's figures computed by scikit-learn."""
    from sklearn.metrics import cohen_kappa_score, f1_score, roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40)
    s = np.round(np.clip(y * 0.3 + rng.random(40) * 0.7, 0, 1), 1)  # rounded: plenty of tied scores
    ours = bootstrap_intervals(y.tolist(), s.tolist(), 0.5, resamples=300, seed=11)
    pred = s >= 0.5
    cells = [(1, True), (0, True), (1, False), (0, False)]  # TP, FP, FN, TN
    counts = np.array([sum((y == t) & (pred == p)) for t, p in cells])
    draws = np.random.default_rng(11)
    found: dict[str, list[float]] = {"kappa": [], "f1": [], "auc": []}
    for row in draws.multinomial(40, counts / 40, size=300):  # a resample of posts, as confusion counts
        yt = np.repeat([t for t, _ in cells], row)
        pt = np.repeat([p for _, p in cells], row)
        found["kappa"].append(cohen_kappa_score(yt, pt) if len(set(yt) | set(pt)) > 1 else 1.0)
        found["f1"].append(f1_score(yt, pt, zero_division=np.nan))
    order = np.argsort(s, kind="mergesort")
    for d in draws.integers(0, 40, size=(300, 40)):  # positions in score order
        yt, st = y[order][d], s[order][d]
        if len(set(yt)) == 2:
            found["auc"].append(roc_auc_score(yt, st))
    for name, vals in found.items():
        v = np.array(vals)[~np.isnan(vals)]
        assert ours[name] == pytest.approx((np.percentile(v, 2.5), np.percentile(v, 97.5))), name


def test_bootstrap_matches_resampling_the_posts_one_by_one() -> None:
    """Drawing the four cell counts is the same distribution as drawing posts: the intervals agree."""
    truth, probs = [t for t, _ in STUDY], [p for _, p in STUDY]
    rng = np.random.default_rng(5)
    kappas = []
    for d in rng.integers(0, 100, size=(2000, 100)):
        b = binary_scores([truth[i] for i in d], [int(probs[i] >= 0.5) for i in d])
        kappas.append(b.kappa)
    plain = (np.percentile(kappas, 2.5), np.percentile(kappas, 97.5))
    assert bootstrap_intervals(truth, probs, 0.5)["kappa"] == pytest.approx(plain, abs=0.02)


def test_weighted_auc_matches_scikit_learn_with_ties_and_weights() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    s = rng.integers(0, 5, 50) / 4
    w = rng.integers(0, 3, (4, 50)).astype(float)
    assert weighted_auc(y, s, w) == pytest.approx([roc_auc_score(y, s, sample_weight=row) for row in w])
    one_class = np.where(y == 1, 1.0, 0.0)[None, :]
    assert np.isnan(weighted_auc(y, s, one_class))[0]


def test_enough_resamples() -> None:
    assert RESAMPLES >= 1000


def test_undefined_figures_say_n_a_and_never_zero() -> None:
    truth, probs = [0, 0, 0, 0], [0.1, 0.7, 0.2, 0.3]  # not a single relevant post
    b = binary_scores(truth, [int(p >= 0.5) for p in probs])
    card = {m.name: m for m in measures(b, truth, probs, 0.5)}
    for name in ("recall", "false-negative rate", "AUC"):
        m = card[name]
        assert (m.value, m.lo, m.hi) == (None, None, None), name
        assert value_text(m.value) == "n/a" and interval_text(m) == "n/a"
    assert card["recall"].n == 0
    assert card["accuracy"].value == 0.75 and interval_text(card["accuracy"]) != "n/a"
    empty = measures(binary_scores([], []), [], [], 0.5)
    assert all(m.value is None and interval_text(m) == "n/a" for m in empty)


def test_one_category_everywhere_has_kappa_one_like_the_agreement_module() -> None:
    truth, probs = [1] * 6, [0.9] * 6
    card = {m.name: m for m in measures(binary_scores(truth, [1] * 6), truth, probs, 0.5)}
    assert (card["Cohen's kappa"].value, card["Cohen's kappa"].lo, card["Cohen's kappa"].hi) == (1.0, 1.0, 1.0)
