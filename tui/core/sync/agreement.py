"""Inter-coder agreement: percent agreement, Cohen's kappa, Krippendorff's alpha.

Pure standard library on purpose: the product must not need numpy to compare two coders.

Conventions used throughout:

* ``None`` is a missing value. Two-coder functions skip a pair if either side is missing;
  Krippendorff's alpha drops every unit with fewer than two values.
* Agreement and the other proportions are in ``[0, 1]``; format them as percentages for display.
* When there is nothing to disagree about, because every value given is the same single category,
  kappa and alpha are defined here as ``1.0``. Chance-corrected agreement is formally 0/0 in that
  case: scikit-learn's ``cohen_kappa_score`` returns ``nan`` and the ``krippendorff`` package
  raises ``ValueError``. Observed agreement is perfect, so ``1.0`` is the useful reading.
  It says nothing about reliability, though, so look at the counts too. (Kappa's expected
  agreement can only be 1 when observed agreement is 1 as well, so a "0.0" case never happens.)
* Everywhere else the results equal scikit-learn's and the ``krippendorff`` package's nominal
  results, give or take floating-point rounding (the tests check to 1e-9).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "BinaryScores",
    "CodeAgreement",
    "binary_scores",
    "code_agreement",
    "cohen_kappa",
    "krippendorff_alpha",
    "percent_agreement",
    "rollup",
]

Codings = Mapping[str, Mapping[str, Collection[str]]]
"""coder -> post id -> ids of the codes that coder applied to that post."""


def _pairs(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> list[tuple[Hashable, Hashable]]:
    """Pair two codings item by item, skipping pairs where either value is missing."""
    if len(a) != len(b):
        raise ValueError(
            f"The two codings have different lengths ({len(a)} and {len(b)}); "
            "they must list the same items in the same order."
        )
    return [(x, y) for x, y in zip(a, b, strict=False) if x is not None and y is not None]


def _require_pairs(pairs: list[tuple[Hashable, Hashable]]) -> None:
    if not pairs:
        raise ValueError("There is no item that both coders coded, so agreement is undefined.")


def percent_agreement(a: Sequence[Hashable | None], b: Sequence[Hashable | None]) -> float:
    """Share of items, coded by both coders, on which the two values are equal."""
    pairs = _pairs(a, b)
    _require_pairs(pairs)
    return sum(1 for x, y in pairs if x == y) / len(pairs)


def _kappa_from_counts(n: int, disagreements: int, marginal_products: int) -> float:
    """Unweighted kappa from integer counts; one rounding only, so closed forms match exactly.

    kappa = (po - pe) / (1 - pe) = 1 - n * disagreements / (n**2 - sum_k rows_k * cols_k).
    """
    denominator = n * n - marginal_products
    if denominator == 0:
        # Both coders used one and the same category for every item (see the module docstring).
        return 1.0
    return 1 - (n * disagreements) / denominator


def cohen_kappa(
    a: Sequence[Hashable | None],
    b: Sequence[Hashable | None],
    labels: Iterable[Hashable] | None = None,
) -> float:
    """Cohen's kappa (nominal, unweighted) for two coders; ``labels`` keeps only pairs within it."""
    pairs = _pairs(a, b)
    if labels is not None:
        # Same as scikit-learn: a pair with a value outside `labels` is left out entirely.
        keep = set(labels)
        pairs = [(x, y) for x, y in pairs if x in keep and y in keep]
    _require_pairs(pairs)
    rows = Counter(x for x, _ in pairs)
    cols = Counter(y for _, y in pairs)
    disagreements = sum(1 for x, y in pairs if x != y)
    products = sum(count * cols[value] for value, count in rows.items())
    return _kappa_from_counts(len(pairs), disagreements, products)


def _alpha_from_counts(n: int, observed: Fraction, value_square_sum: int) -> float:
    """Nominal alpha = 1 - (n - 1) * Do / (n**2 - sum_c n_c**2), from exact counts."""
    denominator = n * n - value_square_sum
    if denominator == 0:
        # Every pairable value is the same category (see the module docstring).
        return 1.0
    ratio = (n - 1) * observed / denominator
    return 1 - ratio.numerator / ratio.denominator


def krippendorff_alpha(data: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data; rows are coders, columns are units, None is missing."""
    if not data:
        raise ValueError("Krippendorff's alpha needs at least one coder's values; got none.")
    width = len(data[0])
    for index, row in enumerate(data):
        if len(row) != width:
            raise ValueError(
                f"Every coder must give one value (or None) per unit: coder 0 has {width}, "
                f"coder {index} has {len(row)}."
            )
    # Coincidence-matrix formulation. Only two totals of the matrix matter for nominal data:
    # the off-diagonal sum (observed disagreement) and the value totals n_c. Each unit adds
    # (m_u**2 - sum_c n_uc**2) / (m_u - 1) off the diagonal; summing the integer parts per m_u
    # keeps the arithmetic exact.
    off_diagonal_by_m: dict[int, int] = defaultdict(int)
    value_totals: Counter[Hashable] = Counter()
    for unit in zip(*data, strict=False):
        values = [value for value in unit if value is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        off_diagonal_by_m[m] += m * m - sum(c * c for c in counts.values())
        value_totals.update(counts)
    if not value_totals:
        raise ValueError(
            "No unit has values from at least two coders, so Krippendorff's alpha is undefined."
        )
    observed = sum((Fraction(s, m - 1) for m, s in off_diagonal_by_m.items()), Fraction(0))
    n = sum(value_totals.values())
    return _alpha_from_counts(n, observed, sum(c * c for c in value_totals.values()))


@dataclass(frozen=True)
class BinaryScores:
    """Confusion counts and scores of binary decisions against a reference (None = undefined)."""

    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    false_negative_rate: float | None
    f1: float | None
    kappa: float | None

    @property
    def n(self) -> int:
        """Number of items compared."""
        return self.tp + self.fp + self.fn + self.tn


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _as_bit(value: Hashable, which: str, position: int) -> bool:
    # Reject labels like "yes": truthiness would silently count every non-empty string as 1.
    if value in (0, 1):  # True and False compare equal to 1 and 0
        return bool(value)
    raise ValueError(
        f"binary_scores expects 0/1 or True/False values; {which} has {value!r} at position {position}."
    )


def binary_scores(truth: Sequence[Hashable | None], pred: Sequence[Hashable | None]) -> BinaryScores:
    """Confusion counts, accuracy, precision, recall, false-negative rate, F1 and kappa."""
    if len(truth) != len(pred):
        raise ValueError(
            f"truth and pred have different lengths ({len(truth)} and {len(pred)}); "
            "they must list the same items in the same order."
        )
    tp = fp = fn = tn = 0
    for position, (t, p) in enumerate(zip(truth, pred, strict=False)):
        if t is None or p is None:
            continue
        actual, predicted = _as_bit(t, "truth", position), _as_bit(p, "pred", position)
        if actual and predicted:
            tp += 1
        elif predicted:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    n = tp + fp + fn + tn
    return BinaryScores(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        accuracy=_ratio(tp + tn, n),
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        false_negative_rate=_ratio(fn, fn + tp),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        kappa=_kappa_2x2(tp, fn, fp, tn) if n else None,
    )


def _kappa_2x2(both: int, first_only: int, second_only: int, neither: int) -> float:
    """Cohen's kappa of a 2x2 table; identical arithmetic to `cohen_kappa`."""
    n = both + first_only + second_only + neither
    products = (both + first_only) * (both + second_only) + (second_only + neither) * (
        first_only + neither
    )
    return _kappa_from_counts(n, first_only + second_only, products)


def _alpha_presence(units: int, coders: int, present: int, split_sum: int) -> float:
    """Nominal alpha for presence/absence with no missing values, in closed form.

    With p coders out of m marking a unit present, the unit adds 2 * p * (m - p) / (m - 1) to
    the off-diagonal coincidences; ``split_sum`` is sum_u p_u * (m - p_u) and ``present`` is
    sum_u p_u. Same rational number, hence the same float, as `krippendorff_alpha`.
    """
    n = units * coders
    absent = n - present
    observed = Fraction(2 * split_sum, coders - 1)
    return _alpha_from_counts(n, observed, present * present + absent * absent)


@dataclass(frozen=True)
class CodeAgreement:
    """Presence/absence agreement on one code over the posts every coder finished.

    ``both`` counts posts where every coder applied the code, ``neither`` where none did and
    ``disagree`` the rest. ``only`` maps each coder to the posts where that coder alone applied
    it; with exactly two coders ``a_only``/``b_only`` repeat it for the first and second coder
    (in the order of the ``codings`` mapping) and are None otherwise, as is ``kappa``.
    ``percent`` is the share of posts where all coders agree. Proportions are None when no post
    was compared.
    """

    code_id: str
    n_posts: int
    both: int
    a_only: int | None
    b_only: int | None
    neither: int
    percent: float | None
    kappa: float | None
    alpha: float | None
    disagree: int = 0
    only: dict[str, int] = field(default_factory=dict)
    coders: tuple[str, ...] = ()


def _compared_posts(codings: Codings, posts: Iterable[str] | None) -> set[str]:
    if len(codings) < 2:
        raise ValueError(f"Agreement needs at least two coders; got {len(codings)}.")
    maps = list(codings.values())
    common = set(maps[0]).intersection(*maps[1:])
    if posts is not None:
        common.intersection_update(posts)
    return common


def code_agreement(
    codings: Codings,
    posts: Iterable[str] | None = None,
    codes: Iterable[str] | None = None,
) -> list[CodeAgreement]:
    """Per-code presence/absence agreement over the posts that every coder finished.

    A post is finished by a coder when it is a key of that coder's mapping. ``posts`` narrows
    the comparison further; ``codes`` (kept in the given order) defaults to every code applied
    on a compared post, sorted.
    """
    coders = tuple(codings)
    common = _compared_posts(codings, posts)
    # Inverted index code -> posts, per coder: per-code counts then come from set sizes and
    # intersections instead of a posts x codes loop.
    index: dict[str, dict[str, set[str]]] = {coder: defaultdict(set) for coder in coders}
    for coder in coders:
        by_code = index[coder]
        for post_id, applied in codings[coder].items():
            if post_id in common:
                for code_id in applied:
                    by_code[code_id].add(post_id)
    if codes is None:
        code_ids = sorted(set().union(*(index[coder].keys() for coder in coders)))
    else:
        code_ids = list(dict.fromkeys(codes))
    n = len(common)
    m = len(coders)
    no_posts: set[str] = set()
    results = []
    for code_id in code_ids:
        marked = [index[coder].get(code_id, no_posts) for coder in coders]
        if m == 2:
            first, second = marked
            both = len(first & second)
            only = {coders[0]: len(first) - both, coders[1]: len(second) - both}
            disagree = only[coders[0]] + only[coders[1]]
            present = 2 * both + disagree
            split_sum = disagree  # p = 1, m - p = 1 for every disagreement
        else:
            per_post: Counter[str] = Counter()
            for posts_marked in marked:
                per_post.update(posts_marked)
            both = sum(1 for p in per_post.values() if p == m)
            disagree = len(per_post) - both
            only = {
                coder: sum(1 for post_id in posts_marked if per_post[post_id] == 1)
                for coder, posts_marked in zip(coders, marked, strict=False)
            }
            present = sum(per_post.values())
            split_sum = sum(p * (m - p) for p in per_post.values())
        neither = n - both - disagree
        results.append(
            CodeAgreement(
                code_id=code_id,
                n_posts=n,
                both=both,
                a_only=only[coders[0]] if m == 2 else None,
                b_only=only[coders[1]] if m == 2 else None,
                neither=neither,
                percent=(both + neither) / n if n else None,
                kappa=_kappa_2x2(both, only[coders[0]], only[coders[1]], neither)
                if m == 2 and n
                else None,
                alpha=_alpha_presence(n, m, present, split_sum) if n else None,
                disagree=disagree,
                only=only,
                coders=coders,
            )
        )
    return results


def rollup(codings: Codings, mapping: Callable[[str], str | None]) -> dict[str, dict[str, set[str]]]:
    """Map every code to a coarser id (e.g. its category); a post has it if any code maps to it.

    Codes mapped to None are dropped. Every finished post is kept, even one left with no ids,
    so it still counts as a post where the coder marked nothing.
    """
    mapped: dict[str, str | None] = {}

    def lookup(code_id: str) -> str | None:
        if code_id not in mapped:
            mapped[code_id] = mapping(code_id)
        return mapped[code_id]

    result: dict[str, dict[str, set[str]]] = {}
    for coder, by_post in codings.items():
        result[coder] = {}
        for post_id, applied in by_post.items():
            coarse = (lookup(code_id) for code_id in applied)
            result[coder][post_id] = {target for target in coarse if target is not None}
    return result
