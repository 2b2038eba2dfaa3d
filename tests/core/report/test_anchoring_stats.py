"""The anchoring report's statistics, checked against SciPy (a test-only dependency)."""

from __future__ import annotations

import math

import pytest

from tui.core.report.stats import (
    chi2_sf,
    chi_square,
    median,
    min_detectable_difference,
    normal_cdf,
    total_variation,
    two_proportion_p,
)

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 30, 100])
@pytest.mark.parametrize("x", [0.0, 1e-6, 0.3, 1.0, 2.5, 7.9, 15.0, 40.0, 150.0, 400.0])
def test_chi_square_survival_matches_scipy(x: float, df: int) -> None:
    assert chi2_sf(x, df) == pytest.approx(float(stats.chi2.sf(x, df)), rel=1e-9, abs=1e-300)


def test_chi_square_test_matches_scipy_contingency() -> None:
    blind = {"a": 30, "b": 12, "c": 8}
    shown = {"a": 52, "b": 6, "c": 2, "d": 0}
    stat, df, p = chi_square(blind, shown)  # type: ignore[misc]
    expected = stats.chi2_contingency([[30, 12, 8], [52, 6, 2]], correction=False)
    assert (stat, df, p) == pytest.approx((expected.statistic, expected.dof, expected.pvalue))
    assert chi_square({"a": 3}, {"a": 5}) is None  # one category: nothing to test
    assert chi_square({}, {"a": 5, "b": 1}) is None


def test_total_variation() -> None:
    assert total_variation({"a": 1, "b": 1}, {"a": 2, "b": 2}) == 0.0
    assert total_variation({"a": 4}, {"b": 1}) == 1.0
    assert total_variation({"a": 3, "b": 1}, {"a": 1, "b": 1}) == pytest.approx(0.25)
    assert total_variation({}, {"a": 1}) is None


def test_two_proportions_and_the_smallest_detectable_difference() -> None:
    z = (0.8 - 0.6) / math.sqrt(0.7 * 0.3 * (2 / 100))
    assert two_proportion_p(60, 100, 80, 100) == pytest.approx(2 * float(stats.norm.sf(z)))
    assert normal_cdf(1.959963984540054) == pytest.approx(0.975)
    # A textbook case: from 0.5 with 100 per group, about 0.19 is detectable (α 0.05, power 0.8).
    mdd = min_detectable_difference(0.5, 100, 100)
    assert mdd is not None and 0.17 < mdd < 0.21
    # The power at that difference is 0.8, computed independently.
    p1, p2 = 0.5, 0.5 + mdd
    pooled = (p1 + p2) / 2
    power = stats.norm.cdf((p2 - p1 - 1.959964 * math.sqrt(pooled * (1 - pooled) * 0.02))
                           / math.sqrt(p1 * (1 - p1) / 100 + p2 * (1 - p2) / 100))
    assert power == pytest.approx(0.8, abs=1e-4)
    assert min_detectable_difference(0.5, 1000, 1000) < mdd  # more posts, smaller detectable differences
    assert min_detectable_difference(0.9, 3, 3) is None  # too few posts to detect anything
    assert min_detectable_difference(0.5, 0, 10) is None
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([1.0, 2.0]) == 1.5 and median([]) is None
