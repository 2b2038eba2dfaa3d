"""Analyses for the write-up: frequencies, co-occurrence, saturation, quotes and the screening scorecard.

Every function takes a `Store` or an already loaded `ReportData` (load once, run every section) and
returns plain dataclasses, so the CLI and the app render the same numbers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Union

from tui.core.codebook.model import Category, Codebook
from tui.core.prelabel.arms import ALL as ARM_ALL
from tui.core.prelabel.arms import BLIND, counted
from tui.core.prelabel.intervals import Measure, measures
from tui.core.project.events import CONSENSUS
from tui.core.project.state import PostState
from tui.core.project.store import Store
from tui.core.report.data import ALL, CoderPost, ReportData, ReportError
from tui.core.report.redact import mask
from tui.core.safe import clean
from tui.core.sync.agreement import BinaryScores, binary_scores

__all__ = [
    "ALL", "CoPair", "Cooccurrence", "CoderPost", "FreqRow", "QuoteRow", "ReportData", "ReportError",
    "CREATED", "FIRST_USED", "MEASURES", "FirstSeen", "first_appeared", "SatPoint", "Saturation", "Screening",
    "cooccurrence", "frequencies", "quotes", "saturation",
    "screening", "pick_coder", "DEFAULT_RUN",
]

DEFAULT_RUN = 10
"""Posts in a row without a new code that count as saturation, unless the caller says otherwise."""
CREATED, FIRST_USED = "created", "first-used"
MEASURES = (CREATED, FIRST_USED)
"""What counts as a new code on a post: one created on it while coding (the study's open coding), or a
code of the codebook applied for the first time."""


Source = Union[Store, ReportData]


def _data(source: Source, codebook: Codebook) -> ReportData:
    return source if isinstance(source, ReportData) else ReportData.load(source, codebook)


def pick_coder(data: ReportData, coder: str | None) -> str:
    """The coder asked for; else the consensus if there is one; else all coders pooled."""
    if coder:
        data.require(coder)
        return coder
    data.require(ALL)
    return CONSENSUS if data.coders.get(CONSENSUS) else ALL


# ---------------------------------------------------------------- frequencies


@dataclass(frozen=True)
class FreqRow:
    """Posts carrying one node (a category, code or sub-code) for one coder."""

    coder: str
    id: str
    name: str
    path: str
    level: int  # 1 category, 2 code, 3 sub-code, 0 not in the codebook
    category_id: str
    posts: int
    share: float | None  # of the coder's coded posts
    coded: int  # the coder's coded posts (posts with at least one code, not judged irrelevant)


def frequencies(source: Source, codebook: Codebook, coder: str | None = None) -> list[FreqRow]:
    """Posts per category, code and sub-code, per coder (every coder and the consensus if coder is None).

    A sub-code also counts for its code and category, a code for its category; a post counts once
    per node. Every codebook node gets a row (zero included), in codebook order, per coder.
    """
    data = _data(source, codebook)
    data.require(ALL)
    names = [coder] if coder else data.coder_names()
    for name in names:
        data.require(name)
    rows: list[FreqRow] = []
    for name in names:
        codings = data.codings(name)
        counts: dict[str, int] = defaultdict(int)
        # Posts often carry the same set of codes: roll each distinct set up once.
        for ids, times in Counter(ids for _, ids in codings.values()).items():
            for node_id in {n for c in ids for n in data.rollup(c)}:
                counts[node_id] += times
        n = len(codings)
        for node in codebook.nodes():
            cat = node.id if isinstance(node, Category) else node.category_id
            rows.append(FreqRow(name, node.id, node.name, codebook.path_str(node.id), node.level, cat,
                                counts.get(node.id, 0), counts.get(node.id, 0) / n if n else None, n))
        for unknown in sorted(k for k in counts if codebook.node(k) is None):
            rows.append(FreqRow(name, unknown, unknown, f"{unknown} (not in the codebook)", 0, "",
                                counts[unknown], counts[unknown] / n if n else None, n))
    return rows


# ---------------------------------------------------------------- co-occurrence


@dataclass(frozen=True)
class CoPair:
    """Two codes on the same posts: how often together, and Jaccard = together / either."""

    a: str
    b: str
    both: int
    a_posts: int
    b_posts: int
    jaccard: float


@dataclass
class Cooccurrence:
    """Code-level co-occurrence for one coder (or the consensus, or all coders pooled)."""

    coder: str
    n_posts: int
    counts: dict[str, int]  # code id -> posts
    pairs: list[CoPair]  # pairs seen together at least once, most frequent first

    def matrix(self, codes: Iterable[str] | None = None) -> tuple[list[str], list[list[int]]]:
        """A symmetric count matrix over `codes` (default: every code used), diagonal = posts."""
        ids = list(codes) if codes is not None else sorted(self.counts, key=lambda c: (-self.counts[c], c))
        together = {(p.a, p.b): p.both for p in self.pairs}
        together.update({(p.b, p.a): p.both for p in self.pairs})
        grid = [[self.counts.get(a, 0) if a == b else together.get((a, b), 0) for b in ids] for a in ids]
        return ids, grid


def cooccurrence(source: Source, codebook: Codebook, coder: str | None = None) -> Cooccurrence:
    """Which codes (sub-codes rolled up to their code) appear together on the same post."""
    data = _data(source, codebook)
    who = pick_coder(data, coder)
    counts: dict[str, int] = defaultdict(int)
    together: dict[tuple[str, str], int] = defaultdict(int)
    codings = data.codings(who)
    for _, ids in codings.values():
        codes = sorted({data.code_level(c) for c in ids})
        for c in codes:
            counts[c] += 1
        for pair in combinations(codes, 2):
            together[pair] += 1
    pairs = [CoPair(a, b, n, counts[a], counts[b], n / (counts[a] + counts[b] - n))
             for (a, b), n in together.items()]
    pairs.sort(key=lambda p: (-p.both, -p.jaccard, p.a, p.b))
    return Cooccurrence(who, len(codings), dict(counts), pairs)


# ---------------------------------------------------------------- saturation


@dataclass(frozen=True)
class SatPoint:
    """One coded post in coding order: the codes it introduced and the running total."""

    index: int  # 1-based position in coding order
    label: str
    new: int
    new_ids: tuple[str, ...]
    cumulative: int


@dataclass
class Saturation:
    """The saturation curve; `saturated_at` is the index of the post after which `run` posts added nothing."""

    coder: str
    points: list[SatPoint]
    run: int
    saturated_at: int | None
    level: str
    measure: str = FIRST_USED  # "created": codes created on the post while coding; "first-used": first applied

    @property
    def total(self) -> int:
        """Distinct codes seen by the end."""
        return self.points[-1].cumulative if self.points else 0


def saturation_point(new_counts: list[int], run: int) -> int | None:
    """The first index k (1-based) where post k added a code and the next `run` posts added none."""
    last_new = 0
    quiet = 0
    for i, n in enumerate(new_counts, 1):
        if n:
            last_new, quiet = i, 0
        else:
            quiet += 1
            if quiet >= run and last_new:
                return last_new
    return None


def saturation(source: Source, codebook: Codebook, coder: str | None = None, run: int = DEFAULT_RUN,
               level: str = "all", measure: str | None = None) -> Saturation:
    """New codes per post in coding order (first event on each post) and the cumulative distinct codes.

    `measure` "created" counts the codes created on each post while coding (open coding, as the study
    monitored saturation); "first-used" counts codes applied for the first time. None: "created" if the
    project has codes created while coding, else "first-used". With "first-used", `level` "all" counts
    codes and sub-codes (a sub-code introduces its code too); "code" counts codes only. Categories never count.
    """
    if run < 1:
        raise ReportError("The saturation run must be at least one post.")
    if level not in ("all", "code"):
        raise ReportError(f"Unknown saturation level {level!r}; use 'all' or 'code'.")
    data = _data(source, codebook)
    if measure is None:
        measure = CREATED if data.created else FIRST_USED
    if measure not in MEASURES:
        raise ReportError(f"Unknown saturation measure {measure!r}; use 'created' or 'first-used'.")
    who = pick_coder(data, coder)
    codings = data.codings(who)
    created: dict[int, list[str]] = {}
    if measure == CREATED:
        # Codes emerge from any coder in the pooled and the consensus views; from the coder alone otherwise.
        for name, posts in data.created.items():
            if who in (ALL, CONSENSUS) or name == who:
                for pid, ids in posts.items():
                    created.setdefault(pid, []).extend(i for i in ids if i not in created.get(pid, []))
    firsts = {pid: first for pid, (first, _) in codings.items()}
    for pid in created:
        if pid not in firsts:  # a code made on a post that no longer carries one still emerged there
            seen_at = [cp.first_at for name, cps in data.coders.items() if pid in cps
                       for cp in [cps[pid]] if who in (ALL, CONSENSUS) or name == who]
            firsts[pid] = min(seen_at, default="")
    ordered = sorted(firsts, key=lambda pid: (firsts[pid], pid))
    seen: set[str] = set()
    points: list[SatPoint] = []
    for i, pid in enumerate(ordered, 1):
        new: list[str]
        if measure == CREATED:
            new = [c for c in created.get(pid, []) if c not in seen]
        else:
            applied = codings[pid][1]
            if level == "code":
                nodes = {data.code_level(c) for c in applied}
            else:
                nodes = {n for c in applied for n in data.rollup(c) if not isinstance(codebook.node(n), Category)}
            new = sorted(nodes - seen)
        seen.update(new)
        points.append(SatPoint(i, data.label(pid), len(new), tuple(new), len(seen)))
    return Saturation(who, points, run, saturation_point([p.new for p in points], run), level, measure)


@dataclass(frozen=True)
class FirstSeen:
    """When a code first appeared: created while coding, or (a code from the file) first applied to a post."""

    id: str
    path: str
    at: str  # "" if never used
    how: str  # "created", "first used" or "not used yet"
    post: str  # the post's label, "" if none
    coder: str


def first_appeared(source: Source, codebook: Codebook) -> list[FirstSeen]:
    """Every code and sub-code in use, in the order they first appeared (codes never used last)."""
    data = _data(source, codebook)
    used: dict[str, tuple[str, str, int]] = {}
    for name in data.humans():
        for pid, cp in data.coders[name].items():
            for code, when in cp.state.codes.items():
                cur = codebook.resolve(code) or code
                seen = (str(when or cp.first_at), name, pid)
                if cur not in used or seen < used[cur]:
                    used[cur] = seen
    rows: list[FirstSeen] = []
    for node in codebook.codes():
        path = codebook.path_str(node.id)
        made = data.creations.get(node.id)
        if made is not None:
            rows.append(FirstSeen(node.id, path, made[0], "created", "" if made[2] is None else data.label(made[2]),
                                  made[1]))
        elif node.id in used:
            when, who, post = used[node.id]
            rows.append(FirstSeen(node.id, path, when, "first used", data.label(post), who))
        else:
            rows.append(FirstSeen(node.id, path, "", "not used yet", "", ""))
    return sorted(rows, key=lambda r: (r.at == "", r.at))


# ---------------------------------------------------------------- quotes


@dataclass(frozen=True)
class QuoteRow:
    """A quoted sentence as evidence for a code, under the post's pseudonymous label, masked."""

    code_id: str
    path: str
    label: str
    text: str
    coders: tuple[str, ...]


def quotes(source: Source, codebook: Codebook, coder: str | None = None,
           code_id: str | None = None) -> list[QuoteRow]:
    """Quotes per code in codebook order (every coder if coder is None); handles and ids masked."""
    data = _data(source, codebook)
    data.require(ALL)
    names = [coder] if coder else data.humans()
    for name in names:
        data.require(name)
    target = (codebook.resolve(code_id) or code_id) if code_id else None
    order = {node.id: i for i, node in enumerate(codebook.nodes())}
    found: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for name in names:
        for pid, cp in data.coders[name].items():
            for q in cp.state.quotes:
                cid = codebook.resolve(q.code_id) or q.code_id
                if target is not None and not (cid and target in data.rollup(cid)):
                    continue
                text = mask(clean(q.text, oneline=True))
                if text:
                    found[(cid, data.label(pid), text)].add(name)
    rows = []
    for (cid, label, text), who in found.items():
        known = codebook.node(cid) if cid else None
        path = codebook.path_str(cid) if known else (f"{cid} (not in the codebook)" if cid else "(no code)")
        rows.append(QuoteRow(cid, path, label, text, tuple(sorted(who))))
    rows.sort(key=lambda r: (order.get(r.code_id, len(order)), r.code_id, r.label, r.text))
    return rows


# ---------------------------------------------------------------- screening


@dataclass
class Screening:
    """The model's relevance screen against human decisions."""

    coder: str
    threshold: float
    scores: BinaryScores
    n_scored: int  # posts with a model score
    n_decided: int  # posts with a human relevance decision
    n_compared: int  # posts with both
    basis: str = ""  # which scores were graded: the model's own, or the learned screen's out-of-fold ones
    measures: list[Measure] = field(default_factory=list)  # every figure with n and its 95 % interval
    arm: str = ARM_ALL  # whose decisions count: blind posts only, shown ones, or all (arms.counted)


def screening(source: Source, codebook: Codebook, store: Store | None = None, coder: str | None = None,
              threshold: float | None = None, arm: str = BLIND) -> Screening:
    """Model-vs-human scorecard: P(relevant) >= threshold against consensus (or `coder`) decisions.

    arm: 'blind' (default) compares only decisions made with no suggestion on screen; 'shown', 'all'.
    """
    data = _data(source, codebook)
    db = source if isinstance(source, Store) else store
    if db is None:
        raise ReportError("The screening scorecard needs the project store (for the model's scores).")
    if threshold is None:
        threshold = codebook.screening.threshold if codebook.screening else 0.5
    if not 0.0 <= threshold <= 1.0:
        raise ReportError(f"The threshold must be between 0 and 1, not {threshold}.")
    data.require(ALL)
    if coder:
        data.require(coder)
        who = coder
    elif data.coders.get(CONSENSUS):
        who = CONSENSUS
    else:
        humans = data.humans()
        if len(humans) != 1:
            listed = ", ".join(humans) or "none"
            raise ReportError(f"There is no consensus yet; choose whose decisions to compare with --coder "
                              f"(coders: {listed}).")
        who = humans[0]
    human = {pid: rel for pid, cp in data.coders[who].items() if (rel := _decision(cp.state)) is not None}
    if not human:
        raise ReportError(f"Coder {who!r} has made no relevance decision yet.")
    # Loaded here, not at import: the learned screen's out-of-fold predictions need numpy and the embeddings.
    from tui.core.prelabel.graded import graded_relevance

    # Never the learned screen's fit on the decisions it learned from: those get out-of-fold predictions.
    graded = graded_relevance(db, codebook, human)
    model = graded.scores
    if not model and not graded.n_left_out:
        raise ReportError("No post has a model relevance score yet: run `qualtui prelabel` first.")
    both = sorted(set(human) & set(model))
    if not both:
        if graded.n_left_out:
            raise ReportError(f"No decision by {who!r} can be graded fairly: {graded.basis()}")
        raise ReportError(f"No post has both a model score and a relevance decision by {who!r}.")
    keep = counted(db.db.conn, who, arm)
    both = [p for p in both if keep(p)]
    if not both:
        raise ReportError(f"No {arm} post has both a model score and a relevance decision by {who!r} yet "
                          "(--arm all counts every post).")
    truth = [human[p] for p in both]
    probs = [model[p] for p in both]
    scores = binary_scores(truth, [1 if p >= threshold else 0 for p in probs])
    return Screening(who, threshold, scores, len(model), len(human), len(both), graded.basis(),
                     measures(scores, truth, probs, threshold), arm)


def _decision(st: PostState) -> int | None:
    """A coder's relevance decision on a post; coding a post without one counts as relevant."""
    if st.relevance is not None:
        return st.relevance
    return 1 if st.codes else None
