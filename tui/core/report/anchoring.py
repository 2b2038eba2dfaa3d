"""The anchoring report: do the coders decide differently when the model's suggestions are on screen?

Blind posts (no model output shown) against shown posts, per coder and pooled: agreement with the
model's screen, how often the model's top code was taken, the distribution of codes, the relevance
rate, the time per post, and coder-coder agreement within each arm; with the sample sizes and the
smallest difference those sizes can detect. Only decisions whose arm was recorded count: a post
decided before arms were recorded, or in both arms (the share changed), is left out and counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from tui.core.codebook.model import Codebook
from tui.core.coding.session import IDLE_GAP
from tui.core.prelabel.arms import BLIND, SHOWN, post_arms
from tui.core.project.state import PostState
from tui.core.project.store import Store
from tui.core.report.data import ReportData, ReportError
from tui.core.report.stats import chi_square, median, min_detectable_difference, total_variation, two_proportion_p
from tui.core.report.writers import Table
from tui.core.sync.agreement import binary_scores

__all__ = ["ALL_CODERS", "Anchoring", "ArmFigures", "CodeShift", "PairAgreement", "anchoring", "anchoring_payload",
           "anchoring_tables"]

ALL_CODERS = "all coders"
ARMS = (BLIND, SHOWN)


@dataclass
class ArmFigures:
    """One coder's (or all coders') decisions in one arm."""

    who: str
    arm: str
    posts: int = 0  # posts with a relevance decision
    relevant: int = 0
    scored: int = 0  # of those, posts the model scored
    agree: int = 0  # decisions equal to the model's screen
    kappa: float | None = None  # Cohen's kappa, coder against the model's screen
    offered: int = 0  # relevant posts with a top code suggestion
    taken: int = 0  # of those, posts where the coder applied the suggested code
    median_seconds: float | None = None
    codes: Counter[str] = field(default_factory=Counter)  # level-2 code -> posts it was applied to
    _truth: list[int] = field(default_factory=list, repr=False)
    _model: list[int] = field(default_factory=list, repr=False)
    _seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def relevance_rate(self) -> float | None:
        """Share of decided posts judged relevant."""
        return self.relevant / self.posts if self.posts else None

    @property
    def agreement(self) -> float | None:
        """Share of scored posts where the coder decided as the model's screen did."""
        return self.agree / self.scored if self.scored else None

    @property
    def acceptance(self) -> float | None:
        """Share of relevant posts with a top code suggestion where the coder applied that code."""
        return self.taken / self.offered if self.offered else None


@dataclass
class CodeShift:
    """How far the codes applied on shown posts are from those on blind posts."""

    who: str
    blind: int  # code applications on blind posts
    shown: int
    tvd: float | None
    chi2: float | None
    df: int | None
    p: float | None


@dataclass
class PairAgreement:
    """Two coders' relevance agreement on the posts both decided in one arm."""

    pair: str
    arm: str
    posts: int
    agreement: float | None
    kappa: float | None


@dataclass
class Anchoring:
    """Everything the anchoring report shows."""

    threshold: float
    blind_share: float
    figures: list[ArmFigures]
    shifts: list[CodeShift]
    pairs: list[PairAgreement]
    left_out: int  # coder-post decisions with no single recorded arm
    difference: float | None  # shown minus blind agreement with the model, pooled
    p: float | None
    detectable: float | None  # the smallest rise in agreement these sizes detect (α 0.05, power 0.8)
    sentence: str = ""


def _decision(st: PostState) -> int | None:
    if st.relevance is not None:
        return st.relevance
    return 1 if st.codes else None


def _seconds_per_post(store: Store, coders: list[str]) -> dict[tuple[str, int], float]:
    """Time per (coder, post): the gaps between a coder's consecutive events that end on the post, capped."""
    out: dict[tuple[str, int], float] = defaultdict(float)
    for coder in coders:
        last: datetime | None = None
        for post_id, at in store.db.conn.execute(
                "SELECT post_id, at FROM events WHERE coder = ? ORDER BY at, seq", (coder,)):
            try:
                t = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                continue
            if last is not None:
                out[(coder, post_id)] += min(max(0.0, (t - last).total_seconds()), IDLE_GAP)
            last = t
    return out


def anchoring(store: Store, codebook: Codebook, data: ReportData | None = None,
              threshold: float | None = None) -> Anchoring:
    """Blind against shown decisions, per coder and pooled (see the module docstring)."""
    data = data or ReportData.load(store, codebook)
    humans = data.humans()
    if not humans:
        raise ReportError("No post has been coded yet: there are no decisions in this project.")
    if threshold is None:
        threshold = codebook.screening.threshold if codebook.screening else 0.5
    conn = store.db.conn
    model = dict(conn.execute("SELECT post_id, max(score) FROM suggestions WHERE kind = 'relevance' GROUP BY post_id"))
    top: dict[int, str] = {}
    for pid, code_id, _ in conn.execute("SELECT post_id, code_id, max(score) FROM suggestions WHERE kind = 'code'"
                                        " GROUP BY post_id"):
        if codebook.node(code_id) is not None:
            top[pid] = data.code_level(codebook.resolve(code_id) or code_id)
    seconds = _seconds_per_post(store, humans)
    figures: dict[tuple[str, str], ArmFigures] = {}
    decided: dict[tuple[str, str], dict[int, int]] = {}
    left_out = 0
    for coder in humans:
        arms = post_arms(conn, [coder], strict=True)
        for pid, cp in data.coders[coder].items():
            rel = _decision(cp.state)
            arm = arms.get(pid, "")
            if rel is None:
                continue
            if arm not in ARMS:
                left_out += 1
                continue
            decided.setdefault((coder, arm), {})[pid] = rel
            levels = {data.code_level(c) for c in cp.codes}
            for who in (coder, ALL_CODERS):
                f = figures.setdefault((who, arm), ArmFigures(who, arm))
                f.posts += 1
                f.relevant += rel
                if pid in model:
                    f.scored += 1
                    f.agree += int(rel == int(model[pid] >= threshold))
                    f._truth.append(rel)
                    f._model.append(int(model[pid] >= threshold))
                if rel and pid in top:
                    f.offered += 1
                    f.taken += int(top[pid] in levels)
                f.codes.update(levels)
                if seconds.get((coder, pid)):
                    f._seconds.append(seconds[(coder, pid)])
    if not figures:
        raise ReportError("No decision has a recorded arm yet: decisions made before the blind arm existed "
                          f"({left_out}) cannot tell blind from shown; code some posts first.")
    ordered = [figures[(w, a)] for w in humans + [ALL_CODERS] for a in ARMS if (w, a) in figures]
    for f in ordered:
        f.kappa = binary_scores(f._truth, f._model).kappa if f._truth else None
        f.median_seconds = median(f._seconds)
    shifts = []
    for who in humans + [ALL_CODERS]:
        b, s = figures.get((who, BLIND)), figures.get((who, SHOWN))
        if b is None or s is None:
            continue
        test = chi_square(b.codes, s.codes)
        shifts.append(CodeShift(who, sum(b.codes.values()), sum(s.codes.values()), total_variation(b.codes, s.codes),
                                test[0] if test else None, test[1] if test else None, test[2] if test else None))
    pairs = []
    for one, other in combinations(humans, 2):
        for arm in ARMS:
            mine, theirs = decided.get((one, arm), {}), decided.get((other, arm), {})
            both = sorted(set(mine) & set(theirs))
            if both:
                scores = binary_scores([mine[p] for p in both], [theirs[p] for p in both])
                pairs.append(PairAgreement(f"{one} – {other}", arm, len(both), scores.accuracy, scores.kappa))
    out = Anchoring(threshold, codebook.assistance.blind_share, ordered, shifts, pairs, left_out, None, None, None)
    _interpret(out, figures.get((ALL_CODERS, BLIND)), figures.get((ALL_CODERS, SHOWN)))
    return out


def _interpret(out: Anchoring, blind: ArmFigures | None, shown: ArmFigures | None) -> None:
    """One sentence with the sample sizes, the difference, and the smallest difference they can detect."""
    nb = blind.scored if blind else 0
    ns = shown.scored if shown else 0
    if not nb or not ns or blind is None or shown is None:
        off = " (the blind arm is off: the codebook's blind_share is 0)" if out.blind_share == 0 else ""
        out.sentence = (f"Nothing to compare yet: {nb} blind and {ns} shown decisions have a model score{off}; "
                        "both arms need some.")
        return
    pb, ps = blind.agree / nb, shown.agree / ns
    out.difference = ps - pb
    out.p = two_proportion_p(blind.agree, nb, shown.agree, ns)
    out.detectable = min_detectable_difference(pb, nb, ns)
    head = (f"On {nb} blind and {ns} shown decisions the coders agreed with the model's screen on {pb:.0%} and "
            f"{ps:.0%} ({100 * out.difference:+.0f} points, {_p(out.p)}); ")
    if out.detectable is None:
        out.sentence = head + ("at these sizes no rise in agreement could be detected at all (α = 0.05, power 0.8), "
                               "so code more blind posts before reading anything into it.")
        return
    head += (f"at these sizes only a rise of {100 * out.detectable:.0f} points or more would be detected "
             "(α = 0.05, power 0.8), so ")
    if out.p is not None and out.p < 0.05 and out.difference > 0:
        out.sentence = head + "the suggestions appear to pull the coders' decisions towards the model."
    elif out.p is not None and out.p < 0.05:
        out.sentence = head + "the coders disagree with the model more when they see it."
    else:
        out.sentence = head + "a difference smaller than that cannot be told from noise yet."


def anchoring_tables(a: Anchoring) -> list[Table]:
    """The figures per coder and arm, the shift in codes, and coder-coder agreement per arm."""
    main = Table(f"Anchoring: blind against shown posts (model screen at threshold {a.threshold:g})",
                 ["Coder", "Arm", "Posts", "Relevance rate", "Scored", "Agree with model", "Kappa with model",
                  "Top code offered", "Top code taken", "Median s per post"],
                 note=a.sentence + (f" {a.left_out} decisions with no single recorded arm are left out."
                                    if a.left_out else ""))
    for f in a.figures:
        main.rows.append([f.who, f.arm, f.posts, _share(f.relevance_rate), f.scored, _share(f.agreement),
                          _round(f.kappa), f.offered, _share(f.acceptance), _round(f.median_seconds, 1)])
    shift = Table("Codes applied: blind against shown", ["Coder", "Blind", "Shown", "Total variation",
                                                         "Chi-square", "df", "p"],
                  note="Total variation distance between the two distributions of codes (0: the same, 1: no code "
                       "in common); Pearson's chi-square test that they are the same. A post with several codes "
                       "counts once per code.")
    for s in a.shifts:
        shift.rows.append([s.who, s.blind, s.shown, _round(s.tvd), _round(s.chi2), s.df, _round(s.p)])
    pairs = Table("Coder against coder, within each arm", ["Coders", "Arm", "Posts", "Agreement", "Kappa"],
                  note="" if a.pairs else "No post was decided by two coders in the same arm yet.")
    for p in a.pairs:
        pairs.rows.append([p.pair, p.arm, p.posts, _share(p.agreement), _round(p.kappa)])
    return [main, shift, pairs]


def anchoring_payload(a: Anchoring) -> dict[str, object]:
    """The report as plain data for JSON."""
    return {
        "threshold": a.threshold, "blind_share": a.blind_share, "left_out": a.left_out,
        "difference": a.difference, "p": a.p, "detectable": a.detectable, "sentence": a.sentence,
        "figures": [{"coder": f.who, "arm": f.arm, "posts": f.posts, "relevant": f.relevant,
                     "relevance_rate": f.relevance_rate, "scored": f.scored, "agree": f.agree,
                     "agreement": f.agreement, "kappa": f.kappa, "offered": f.offered, "taken": f.taken,
                     "acceptance": f.acceptance, "median_seconds": f.median_seconds, "codes": dict(f.codes)}
                    for f in a.figures],
        "codes": [vars(s) for s in a.shifts],
        "pairs": [vars(p) for p in a.pairs],
    }


def _p(p: float | None) -> str:
    if p is None:
        return "no p"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
