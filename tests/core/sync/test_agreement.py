"""Agreement measures: textbook cases, reference implementations, closed forms, edge cases."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import pytest

from tui.core.sync.agreement import (
    BinaryScores,
    binary_scores,
    code_agreement,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
    rollup,
)

REPO = Path(__file__).resolve().parents[3]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# nominal data, four observers, twelve units, missing values. Published alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def _wikipedia_kappa_example() -> tuple[list[str], list[str]]:
    # 50 proposals: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    return a, b


# --- percent agreement -------------------------------------------------------------------


def test_percent_agreement_counts_equal_pairs() -> None:
    a, b = _wikipedia_kappa_example()
    assert percent_agreement(a, b) == 0.7


def test_percent_agreement_skips_pairs_with_a_missing_value() -> None:
    assert percent_agreement(["x", None, "y", "z"], ["x", "y", None, "q"]) == 0.5


# --- Cohen's kappa -----------------------------------------------------------------------


def test_cohen_kappa_wikipedia_example() -> None:
    a, b = _wikipedia_kappa_example()
    # po = 35/50 = 0.7; pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-15)


def test_cohen_kappa_is_symmetric_and_ignores_label_names() -> None:
    a, b = _wikipedia_kappa_example()
    code = {"yes": 1, "no": 0}
    renamed = cohen_kappa([code[x] for x in a], [code[y] for y in b])
    assert cohen_kappa(b, a) == cohen_kappa(a, b) == renamed


def test_cohen_kappa_worse_than_chance_is_negative() -> None:
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0


def test_cohen_kappa_skips_missing_pairs() -> None:
    a, b = _wikipedia_kappa_example()
    assert cohen_kappa(a + [None, "yes"], b + ["no", None]) == cohen_kappa(a, b)


def test_cohen_kappa_labels_drop_pairs_outside_them() -> None:
    # Matches scikit-learn: a pair with either value outside `labels` is left out.
    a, b = _wikipedia_kappa_example()
    assert cohen_kappa(a + ["maybe", "no"], b + ["yes", "maybe"], labels=["yes", "no"]) == (
        cohen_kappa(a, b)
    )
    # Labels never used change nothing for unweighted kappa.
    assert cohen_kappa(a, b, labels=["yes", "no", "unused"]) == cohen_kappa(a, b)


def test_cohen_kappa_single_shared_category_is_one() -> None:
    # Expected agreement is 1 here: formally 0/0, scikit-learn says nan; documented as 1.0.
    assert cohen_kappa(["x"] * 5, ["x"] * 5) == 1.0


def test_cohen_kappa_one_category_each_but_different_is_not_degenerate() -> None:
    # pe = 0 here, so kappa is defined: po = 0 gives 0.
    assert cohen_kappa(["x"] * 4, ["y"] * 4) == 0.0


def test_cohen_kappa_matches_sklearn_on_random_data() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(20240611)
    checked = 0
    for _ in range(200):
        n = rng.randint(1, 60)
        alphabet = ["a", "b", "c", "d", "e"][: rng.randint(1, 5)]
        a = [rng.choice(alphabet) if rng.random() > 0.1 else None for _ in range(n)]
        # Correlated second coder so kappa spans its range, not only values near 0.
        b = [x if x is not None and rng.random() < 0.6 else rng.choice(alphabet) for x in a]
        pairs = [(x, y) for x, y in zip(a, b, strict=False) if x is not None]
        if not pairs:
            continue
        xs, ys = zip(*pairs, strict=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns before returning nan
            expected = sklearn_metrics.cohen_kappa_score(list(xs), list(ys))
        ours = cohen_kappa(a, b)
        if math.isnan(expected):
            assert ours == 1.0 and len(set(xs) | set(ys)) == 1
        else:
            assert ours == pytest.approx(expected, abs=1e-9)
            checked += 1
    assert checked > 150


def test_cohen_kappa_labels_match_sklearn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    for _ in range(100):
        a = [rng.choice("abcd") for _ in range(40)]
        b = [rng.choice("abcd") for _ in range(40)]
        labels = ["a", "b", "c"]
        expected = sklearn_metrics.cohen_kappa_score(a, b, labels=labels)
        assert cohen_kappa(a, b, labels=labels) == pytest.approx(expected, abs=1e-9)


# --- Krippendorff's alpha ----------------------------------------------------------------


def test_krippendorff_alpha_textbook_nominal_with_missing_values() -> None:
    alpha = krippendorff_alpha(KRIPPENDORFF_2011)
    # By hand: unit 12 has one value and is dropped, leaving 40 pairable values with totals
    # n_1..n_5 = 9, 13, 10, 5, 3. Off-diagonal coincidences, (m_u**2 - sum n_uc**2)/(m_u - 1):
    # unit 2 (2,2,3,2) adds 2, unit 6 (1,2,3,4) adds 4, unit 8 (1,1,2,1) adds 2, others 0.
    # alpha = 1 - (n - 1) * 8 / (n**2 - sum n_c**2).
    n = 40
    by_hand = 1 - Fraction((n - 1) * 8, n * n - (9**2 + 13**2 + 10**2 + 5**2 + 3**2))
    assert by_hand == Fraction(113, 152)
    assert alpha == pytest.approx(float(by_hand), abs=1e-15)
    assert round(alpha, 3) == 0.743


def test_krippendorff_alpha_textbook_binary_two_coders() -> None:
    # Krippendorff (2011), section A: binary data, two observers, no missing data -> 0.095.
    alpha = krippendorff_alpha([[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]])
    assert alpha == pytest.approx(2 / 21, abs=1e-15)
    assert round(alpha, 3) == 0.095


def test_krippendorff_alpha_textbook_nominal_two_coders() -> None:
    # Krippendorff (2011), section B: nominal data, two observers, no missing data -> 0.692.
    alpha = krippendorff_alpha([list("aabbdcccedda"), list("babbbccceddd")])
    assert alpha == pytest.approx(155 / 224, abs=1e-15)
    assert round(alpha, 3) == 0.692


def test_krippendorff_alpha_textbook_matches_package() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    data = np.array([[np.nan if v is None else v for v in row] for row in KRIPPENDORFF_2011], float)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(expected, abs=1e-12)


def test_krippendorff_alpha_systematic_disagreement_is_below_zero() -> None:
    # Two coders, 4 units, always swapped: n = 8, Do = 8, n**2 - sum n_c**2 = 32.
    assert krippendorff_alpha([[1, 2, 1, 2], [2, 1, 2, 1]]) == 1 - 7 * 8 / 32


def test_krippendorff_alpha_matches_package_on_random_data() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    rng = random.Random(11)
    checked = 0
    for _ in range(300):
        coders = rng.randint(2, 6)
        units = rng.randint(2, 40)
        domain = list(range(1, rng.randint(2, 6) + 1))
        truth = [rng.choice(domain) for _ in range(units)]
        missing = rng.choice([0.0, 0.2, 0.5])
        data = [
            [
                None
                if rng.random() < missing
                else (t if rng.random() < 0.7 else rng.choice(domain))
                for t in truth
            ]
            for _ in range(coders)
        ]
        array = np.array([[np.nan if v is None else v for v in row] for row in data], float)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 0/0 when one value is pairable
                expected = krippendorff.alpha(reliability_data=array, level_of_measurement="nominal")
        except ValueError:
            continue  # degenerate for the package; covered by the explicit tests below
        if math.isnan(expected):
            assert krippendorff_alpha(data) == 1.0
            continue
        assert krippendorff_alpha(data) == pytest.approx(expected, abs=1e-9)
        checked += 1
    assert checked > 250


def test_krippendorff_alpha_accepts_strings_and_drops_single_value_units() -> None:
    with_single = [["a", "b", "a", "z"], ["a", "b", "b", None]]
    assert krippendorff_alpha(with_single) == krippendorff_alpha([["a", "b", "a"], ["a", "b", "b"]])


def test_krippendorff_alpha_single_value_is_one() -> None:
    # The package raises ValueError here; documented as 1.0 (perfect, uninformative agreement).
    assert krippendorff_alpha([["x", "x", None], ["x", "x", "y"]]) == 1.0


def test_krippendorff_alpha_without_pairable_units_raises() -> None:
    with pytest.raises(ValueError, match="at least two coders"):
        krippendorff_alpha([[1, None, 3], [None, 2, None]])


def test_krippendorff_alpha_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="coder 1 has 2"):
        krippendorff_alpha([[1, 2, 3], [1, 2]])


def test_krippendorff_alpha_rejects_no_coders() -> None:
    with pytest.raises(ValueError, match="at least one coder"):
        krippendorff_alpha([])


# --- shared edge cases -------------------------------------------------------------------


@pytest.mark.parametrize("measure", [percent_agreement, cohen_kappa])
def test_two_coder_measures_reject_mismatched_lengths(measure) -> None:
    with pytest.raises(ValueError, match=r"different lengths \(3 and 2\)"):
        measure([1, 2, 3], [1, 2])


@pytest.mark.parametrize("measure", [percent_agreement, cohen_kappa])
@pytest.mark.parametrize("a, b", [([], []), ([None, 1], [2, None])])
def test_two_coder_measures_reject_no_shared_items(measure, a, b) -> None:
    with pytest.raises(ValueError, match="no item that both coders coded"):
        measure(a, b)


def test_all_agree() -> None:
    a = ["x", "y", "z", "x"]
    assert percent_agreement(a, a) == 1.0
    assert cohen_kappa(a, a) == 1.0
    assert krippendorff_alpha([a, a, a]) == 1.0


# --- binary scores -----------------------------------------------------------------------


def _binary(tp: int, fp: int, fn: int, tn: int) -> tuple[list[int], list[int]]:
    truth = [1] * tp + [0] * fp + [1] * fn + [0] * tn
    pred = [1] * tp + [1] * fp + [0] * fn + [0] * tn
    return truth, pred


def test_binary_scores_screening_example() -> None:
    scores = binary_scores(*_binary(tp=31, fp=13, fn=3, tn=53))
    assert (scores.tp, scores.fp, scores.fn, scores.tn, scores.n) == (31, 13, 3, 53, 100)
    assert scores.accuracy == pytest.approx(0.84)
    assert scores.false_negative_rate == pytest.approx(3 / 34)
    assert round(scores.false_negative_rate, 3) == 0.088
    assert scores.precision == pytest.approx(31 / 44)
    assert scores.recall == pytest.approx(31 / 34)
    assert scores.f1 == pytest.approx(2 * 31 / (2 * 31 + 13 + 3))
    # po = 0.84, pe = 0.44 * 0.34 + 0.56 * 0.66 = 0.5192
    assert scores.kappa == pytest.approx((0.84 - 0.5192) / (1 - 0.5192), abs=1e-12)


def test_binary_scores_match_sklearn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(3)
    for _ in range(50):
        truth = [rng.random() < 0.3 for _ in range(80)]
        pred = [t if rng.random() < 0.8 else not t for t in truth]
        scores = binary_scores(truth, pred)
        assert scores.accuracy == pytest.approx(sklearn_metrics.accuracy_score(truth, pred))
        assert scores.precision == pytest.approx(sklearn_metrics.precision_score(truth, pred))
        assert scores.recall == pytest.approx(sklearn_metrics.recall_score(truth, pred))
        assert scores.f1 == pytest.approx(sklearn_metrics.f1_score(truth, pred))
        assert scores.kappa == pytest.approx(
            sklearn_metrics.cohen_kappa_score(truth, pred), abs=1e-9
        )
        assert scores.kappa == cohen_kappa(truth, pred)


def test_binary_scores_zero_denominators_are_none() -> None:
    scores = binary_scores([0, 0, 0], [0, 0, 0])
    assert scores == BinaryScores(0, 0, 0, 3, 1.0, None, None, None, None, 1.0)
    empty = binary_scores([], [])
    assert empty == BinaryScores(0, 0, 0, 0, None, None, None, None, None, None)
    only_positives_missed = binary_scores([1, 1], [0, 0])
    assert only_positives_missed.precision is None
    assert only_positives_missed.recall == 0.0
    assert only_positives_missed.false_negative_rate == 1.0
    assert only_positives_missed.f1 == 0.0


def test_binary_scores_skips_missing_and_accepts_bools() -> None:
    assert binary_scores([True, None, False, 1], [True, 1, None, 0]) == binary_scores([1, 1], [1, 0])


def test_binary_scores_rejects_non_binary_values() -> None:
    with pytest.raises(ValueError, match="'yes' at position 1"):
        binary_scores([1, "yes"], [1, 0])
    with pytest.raises(ValueError, match=r"different lengths \(1 and 2\)"):
        binary_scores([1], [1, 0])


# --- code agreement ----------------------------------------------------------------------


def _presence(codings, coder: str, posts: list[str], code: str) -> list[int]:
    return [int(code in codings[coder][p]) for p in posts]


def test_code_agreement_two_coders_counts_and_measures() -> None:
    a, b = _wikipedia_kappa_example()
    posts = [f"P-{i:02d}" for i in range(50)]
    codings = {
        "ana": {p: ({"c1"} if x == "yes" else set()) for p, x in zip(posts, a, strict=False)},
        "ben": {p: ({"c1"} if y == "yes" else set()) for p, y in zip(posts, b, strict=False)},
    }
    [result] = code_agreement(codings)
    assert (result.code_id, result.n_posts) == ("c1", 50)
    assert (result.both, result.a_only, result.b_only, result.neither) == (20, 5, 10, 15)
    assert result.only == {"ana": 5, "ben": 10}
    assert result.disagree == 15
    assert result.coders == ("ana", "ben")
    assert result.percent == 0.7
    assert result.kappa == pytest.approx(0.4, abs=1e-15)
    assert result.alpha == krippendorff_alpha(
        [[int(x == "yes") for x in a], [int(y == "yes") for y in b]]
    )


def test_code_agreement_compares_only_posts_every_coder_finished() -> None:
    codings = {
        "ana": {"p1": {"x"}, "p2": {"x"}, "p3": {"x", "y"}},
        "ben": {"p1": {"x"}, "p2": set()},
    }
    by_code = {r.code_id: r for r in code_agreement(codings)}
    assert set(by_code) == {"x"}  # "y" was only used on p3, which ben has not finished
    assert (by_code["x"].n_posts, by_code["x"].both, by_code["x"].a_only) == (2, 1, 1)
    [narrowed] = code_agreement(codings, posts=["p1", "p3"])
    assert (narrowed.n_posts, narrowed.both, narrowed.percent) == (1, 1, 1.0)


def test_code_agreement_explicit_codes_keep_order_and_include_unused() -> None:
    codings = {"ana": {"p1": {"x"}, "p2": set()}, "ben": {"p1": {"x"}, "p2": {"x"}}}
    results = code_agreement(codings, codes=["unused", "x", "unused"])
    assert [r.code_id for r in results] == ["unused", "x"]
    unused = results[0]
    assert (unused.both, unused.a_only, unused.b_only, unused.neither) == (0, 0, 0, 2)
    # Nothing to disagree about: perfect but uninformative, documented as 1.0.
    assert (unused.percent, unused.kappa, unused.alpha) == (1.0, 1.0, 1.0)


def test_code_agreement_without_shared_posts_reports_none() -> None:
    codings = {"ana": {"p1": {"x"}}, "ben": {"p2": {"x"}}}
    assert code_agreement(codings) == []
    [result] = code_agreement(codings, codes=["x"])
    assert result.n_posts == 0
    assert (result.percent, result.kappa, result.alpha) == (None, None, None)


def test_code_agreement_needs_two_coders() -> None:
    with pytest.raises(ValueError, match="at least two coders; got 1"):
        code_agreement({"ana": {"p1": {"x"}}})


def test_code_agreement_three_coders() -> None:
    codings = {
        "ana": {"p1": {"x"}, "p2": {"x"}, "p3": set(), "p4": {"x"}},
        "ben": {"p1": {"x"}, "p2": set(), "p3": set(), "p4": set()},
        "cai": {"p1": {"x"}, "p2": set(), "p3": {"x"}, "p4": {"x"}},
    }
    [result] = code_agreement(codings)
    assert result.kappa is None and result.a_only is None and result.b_only is None
    assert (result.n_posts, result.both, result.neither, result.disagree) == (4, 1, 0, 3)
    assert result.only == {"ana": 1, "ben": 0, "cai": 1}
    assert result.percent == 0.25
    posts = ["p1", "p2", "p3", "p4"]
    assert result.alpha == krippendorff_alpha([_presence(codings, c, posts, "x") for c in codings])


def _random_codings(rng: random.Random, coders: int, posts: int, codes: int):
    code_ids = [f"cat{i % 4}/code{i}" for i in range(codes)]
    codings = {}
    base = {f"P-{i}": set(rng.sample(code_ids, rng.randint(0, min(4, codes)))) for i in range(posts)}
    for c in range(coders):
        mine = {}
        for post_id, applied in base.items():
            if rng.random() < 0.1:
                continue  # not finished by this coder
            kept = {code for code in applied if rng.random() < 0.8}
            if rng.random() < 0.3:
                kept.add(rng.choice(code_ids))
            mine[post_id] = kept
        codings[f"coder{c}"] = mine
    return codings


@pytest.mark.parametrize("coders", [2, 3, 4])
def test_code_agreement_closed_forms_equal_general_functions(coders: int) -> None:
    rng = random.Random(coders)
    for _ in range(20):
        codings = _random_codings(rng, coders, rng.randint(1, 60), rng.randint(1, 12))
        names = list(codings)
        posts = sorted(set.intersection(*(set(codings[c]) for c in names)))
        results = code_agreement(codings)
        if not posts:
            assert results == []
            continue
        for result in results:
            rows = [_presence(codings, c, posts, result.code_id) for c in names]
            assert result.n_posts == len(posts)
            assert result.both == sum(all(col) for col in zip(*rows, strict=False))
            assert result.neither == sum(not any(col) for col in zip(*rows, strict=False))
            assert result.percent == pytest.approx(
                sum(len(set(col)) == 1 for col in zip(*rows, strict=False)) / len(posts), abs=1e-15
            )
            assert result.alpha == pytest.approx(krippendorff_alpha(rows), abs=1e-12)
            if coders == 2:
                assert result.percent == pytest.approx(percent_agreement(*rows), abs=1e-15)
                assert result.kappa == pytest.approx(cohen_kappa(*rows), abs=1e-12)
            for name, row in zip(names, rows, strict=False):
                alone = sum(
                    1 for i, v in enumerate(row) if v and sum(r[i] for r in rows) == 1
                )
                assert result.only[name] == alone


def test_code_agreement_matches_reference_packages() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    krippendorff = pytest.importorskip("krippendorff")
    rng = random.Random(99)
    codings = _random_codings(rng, 2, 300, 20)
    names = list(codings)
    posts = sorted(set(codings[names[0]]) & set(codings[names[1]]))
    for result in code_agreement(codings):
        rows = [_presence(codings, c, posts, result.code_id) for c in names]
        if len(set(rows[0]) | set(rows[1])) < 2:
            continue
        assert result.kappa == pytest.approx(sklearn_metrics.cohen_kappa_score(*rows), abs=1e-9)
        expected = krippendorff.alpha(reliability_data=rows, level_of_measurement="nominal")
        assert result.alpha == pytest.approx(expected, abs=1e-9)


def test_rollup_maps_codes_to_categories() -> None:
    codings = {
        "ana": {"p1": {"a/x", "a/y"}, "p2": {"b/z"}, "p3": {"ignored"}},
        "ben": {"p1": {"a/y"}, "p2": set(), "p3": set()},
    }
    calls: list[str] = []

    def category(code_id: str) -> str | None:
        calls.append(code_id)
        return code_id.split("/")[0] if "/" in code_id else None

    rolled = rollup(codings, category)
    assert rolled == {
        "ana": {"p1": {"a"}, "p2": {"b"}, "p3": set()},
        "ben": {"p1": {"a"}, "p2": set(), "p3": set()},
    }
    assert sorted(calls) == sorted(set(calls))  # each code id is mapped once
    by_category = {r.code_id: r for r in code_agreement(rolled)}
    assert (by_category["a"].both, by_category["a"].n_posts) == (1, 3)
    assert (by_category["b"].a_only, by_category["b"].neither) == (1, 2)


def test_code_agreement_on_a_study_sized_corpus() -> None:
    # Speed is measured in bench/bench_sync.py (agreement table), not asserted here.
    rng = random.Random(1)
    code_ids = [f"code{i}" for i in range(150)]
    codings = {
        coder: {
            f"P-{i}": set(rng.sample(code_ids, rng.randint(1, 8))) for i in range(20_000)
        }
        for coder in ("ana", "ben")
    }
    results = code_agreement(codings)
    assert len(results) == 150
    assert all(r.n_posts == 20_000 for r in results)


def test_module_does_not_load_numpy_or_textual() -> None:
    code = (
        "import sys, tui.core.sync.agreement; "
        "loaded = [m for m in ('numpy', 'textual', 'sklearn', 'krippendorff') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env)
