"""Small, exact statistics for the anchoring report: chi-square, two proportions, detectable differences.

Written out rather than imported so the runtime needs no SciPy; the tests check them against SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["chi2_sf", "chi_square", "median", "min_detectable_difference", "normal_cdf", "total_variation",
           "two_proportion_p"]

Z_ALPHA = 1.959963984540054  # two-sided α = 0.05
Z_POWER = 0.8416212335729143  # power 0.8


def normal_cdf(z: float) -> float:
    """P(Z ≤ z) for a standard normal Z."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _gamma_p_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    n = a
    for _ in range(10_000):
        n += 1.0
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_fraction(a: float, x: float) -> float:
    # Lentz's continued fraction for the upper incomplete gamma (Numerical Recipes' gcf).
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(x: float, df: int) -> float:
    """P(X ≥ x) for X chi-square with `df` degrees of freedom (the regularized upper incomplete gamma)."""
    if df < 1:
        raise ValueError("a chi-square distribution needs at least one degree of freedom")
    if x <= 0.0:
        return 1.0
    a, half = df / 2.0, x / 2.0
    if half < a + 1.0:
        return max(0.0, 1.0 - _gamma_p_series(a, half))
    return min(1.0, _gamma_q_fraction(a, half))


def chi_square(first: Mapping[str, int], second: Mapping[str, int]) -> tuple[float, int, float] | None:
    """Pearson's chi-square test that two count distributions are the same: (statistic, df, p), or None.

    Categories neither side uses are left out; None when fewer than two remain or a side is empty.
    """
    keys = sorted(k for k in set(first) | set(second) if first.get(k, 0) + second.get(k, 0) > 0)
    n1, n2 = sum(first.get(k, 0) for k in keys), sum(second.get(k, 0) for k in keys)
    if len(keys) < 2 or not n1 or not n2:
        return None
    total = n1 + n2
    stat = 0.0
    for k in keys:
        column = first.get(k, 0) + second.get(k, 0)
        for observed, row in ((first.get(k, 0), n1), (second.get(k, 0), n2)):
            expected = row * column / total
            stat += (observed - expected) ** 2 / expected
    df = len(keys) - 1
    return stat, df, chi2_sf(stat, df)


def total_variation(first: Mapping[str, int], second: Mapping[str, int]) -> float | None:
    """Half the sum of the absolute differences between the two distributions' shares (0: same, 1: disjoint)."""
    n1, n2 = sum(first.values()), sum(second.values())
    if not n1 or not n2:
        return None
    return 0.5 * sum(abs(first.get(k, 0) / n1 - second.get(k, 0) / n2) for k in set(first) | set(second))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test that x1/n1 and x2/n2 are the same."""
    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0.0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / se
    return 2.0 * (1.0 - normal_cdf(z))


def _power(p1: float, p2: float, n1: int, n2: int) -> float:
    pooled = (n1 * p1 + n2 * p2) / (n1 + n2)
    null_se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    alt_se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if alt_se == 0.0:
        return 1.0 if abs(p2 - p1) > 0 else 0.0
    return normal_cdf((abs(p2 - p1) - Z_ALPHA * null_se) / alt_se)


def min_detectable_difference(p1: float, n1: int, n2: int, power: float = 0.8) -> float | None:
    """The smallest rise above the proportion p1 (n1 items) that n2 items detect (α = 0.05 two-sided, `power`).

    None when even a rise to 1 would not be detected that often (or a group is empty).
    """
    if not n1 or not n2 or not 0.0 <= p1 < 1.0:
        return None
    up = 1.0 - p1
    if _power(p1, 1.0, n1, n2) < power:
        return None
    low, high = 0.0, up
    for _ in range(60):  # bisection: power grows with the difference
        mid = (low + high) / 2
        low, high = (mid, high) if _power(p1, p1 + mid, n1, n2) < power else (low, mid)
    return high


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
