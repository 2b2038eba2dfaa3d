"""Learning from the coders: small numpy models on post embeddings, and the coders' labels they learn from.

Everything here runs in milliseconds on a few hundred labelled posts and stays on this machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.project.events import CONSENSUS
from tui.core.project.store import Store
from tui.core.sync.agreement import binary_scores

__all__ = [
    "CodeEval", "CodeModel", "EvalReport", "HumanLabels", "LearnSummary", "Logistic", "Reducer", "auc", "evaluate",
    "human_labels", "learn", "logit", "ranking_scores", "standardise_rows", "stratified_folds",
]

PCA_DIM = 64
L2 = 1.0


def dims_for(n_labelled: int) -> int:
    """Principal components a model may use: about one per six labelled posts, 8 to 64 (measured, docs/prelabel.md)."""
    return max(8, min(PCA_DIM, n_labelled // 6))


@dataclass
class LearnSummary:
    """What learning from the coders found, cross-validated on the posts they labelled."""

    n_labelled: int = 0
    n_relevant: int = 0
    n_coded: int = 0
    folds: int = 0
    applied_relevance: bool = False
    applied_codes: bool = False
    llm: dict[str, float | None] = field(default_factory=dict)
    learned: dict[str, float | None] = field(default_factory=dict)
    codes_zero_shot: dict[str, float] = field(default_factory=dict)
    codes_learned: dict[str, float] = field(default_factory=dict)
    n_written: int = 0
    labels_from: str = ""
    reason: str = ""


@dataclass
class CodeEval:
    """Precision and recall of one code's top-k suggestions on the posts the coders coded."""

    code_id: str
    name: str
    support: int
    predicted: int
    tp: int
    precision: float | None
    recall: float | None


@dataclass
class EvalReport:
    """The model-versus-coders scorecard."""

    labels_from: str
    source: str
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    false_negative_rate: float | None
    kappa: float | None
    auc: float | None
    k: int = 3
    n_coded: int = 0
    per_code: list[CodeEval] = field(default_factory=list)
    model_hash: str = ""
    prompt_hash: str = ""

    @property
    def n(self) -> int:
        """Posts compared."""
        return self.tp + self.fp + self.fn + self.tn


@dataclass
class HumanLabels:
    """The coders' decisions the learner and the scorecard use."""

    relevance: dict[int, int] = field(default_factory=dict)  # post id -> 0 | 1
    codes: dict[int, set[str]] = field(default_factory=dict)  # relevant, coded post -> code ids (parents added)
    source: str = ""


def _vote(values: Sequence[int]) -> int:
    # Majority; a tie counts as relevant / applied (with two coders: the union), as a screen should err.
    return int(2 * sum(values) >= len(values))


def human_labels(store: Store, codebook: Any, coder: str | None = None) -> HumanLabels:
    """Labels from one coder, else 'consensus' where it exists and the majority of the other coders elsewhere."""
    if coder is not None:
        primary, others = store.states(coder), {}
        what = coder
    else:
        coders = store.coders()
        primary = store.states(CONSENSUS) if CONSENSUS in coders else {}
        others = {c: store.states(c) for c in coders if c != CONSENSUS}
        what = ("consensus, else " if primary else "") + ("majority of " + ", ".join(others) if others else "")
    out = HumanLabels(source=what.removesuffix(", else ") or "nobody")
    for pid, st in primary.items():
        if st.relevance is not None:
            out.relevance[pid] = st.relevance
        if st.relevance == 1 and (st.done or st.codes):
            out.codes[pid] = _rolled_up(codebook, st.codes)
    rel_votes: dict[int, list[int]] = {}
    code_votes: dict[int, list[set[str]]] = {}
    for states in others.values():
        for pid, st in states.items():
            if pid in primary:
                continue
            if st.relevance is not None:
                rel_votes.setdefault(pid, []).append(st.relevance)
            if st.relevance == 1 and (st.done or st.codes):
                code_votes.setdefault(pid, []).append(_rolled_up(codebook, st.codes))
    for pid, votes in rel_votes.items():
        out.relevance[pid] = _vote(votes)
    for pid, sets in code_votes.items():
        if out.relevance.get(pid) == 1:
            # Majority over the coders who coded the post; a tie keeps the code (two coders: the union).
            out.codes[pid] = {c for c in set().union(*sets) if 2 * sum(c in s for s in sets) >= len(sets)}
    return out


def _rolled_up(codebook: Any, codes: Iterable[str]) -> set[str]:
    """Current code ids, each sub-code also counting for its parent code; unknown ids dropped."""
    found: set[str] = set()
    for raw in codes:
        node = codebook.node(raw)  # type: ignore[attr-defined]
        if node is None or getattr(node, "level", 1) < 2:
            continue
        found.add(node.id)
        if node.level == 3:
            found.add(node.parent_id)
    return found


# ---------------------------------------------------------------- models


def logit(p: np.ndarray | float, eps: float = 1e-4) -> np.ndarray:
    """log(p / (1 - p)), clipped so 0 and 1 stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return np.log(q / (1 - q))


def standardise_rows(x: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its standard deviation (scores of one post across codes)."""
    sd = x.std(axis=1, keepdims=True)
    return (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)


class Reducer:
    """Centre and project embeddings on their first principal components (fit on all posts, labels unused)."""

    def __init__(self, vectors: np.ndarray, dim: int = PCA_DIM) -> None:
        x = np.asarray(vectors, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        self.mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        k = max(1, min(dim, int((s > s[0] * 1e-6).sum()) if len(s) else 1))
        self.components = vt[:k]
        self.scale = np.where(s[:k] > 0, s[:k] / math.sqrt(max(1, len(x) - 1)), 1.0)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """Whitened principal-component coordinates."""
        x = np.asarray(vectors, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return (x - self.mean) @ self.components.T / self.scale


class Logistic:
    """L2-regularised logistic regression fitted by Newton's method (the intercept is not penalised)."""

    def __init__(self, l2: float = L2, iterations: int = 50) -> None:
        self.l2 = l2
        self.iterations = iterations
        self.w = np.zeros(0)
        self.mu = np.zeros(0)
        self.sd = np.ones(0)

    def fit(self, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Logistic:
        """Fit on rows x (standardised here) and 0/1 targets y."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.mu, sd = x.mean(axis=0), x.std(axis=0)
        self.sd = np.where(sd > 0, sd, 1.0)
        a = np.hstack([np.ones((len(x), 1)), (x - self.mu) / self.sd])
        sw = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        penalty = np.full(a.shape[1], self.l2)
        penalty[0] = 1e-8
        w = np.zeros(a.shape[1])
        base = np.clip((sw * y).sum() / sw.sum(), 1e-3, 1 - 1e-3)
        w[0] = math.log(base / (1 - base))
        for _ in range(self.iterations):
            p = 1 / (1 + np.exp(-np.clip(a @ w, -35, 35)))
            grad = a.T @ (sw * (p - y)) + penalty * w
            hess = (a * (sw * p * (1 - p))[:, None]).T @ a + np.diag(penalty)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-7:
                break
        self.w = w
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(y = 1) per row."""
        z = self.w[0] + ((np.asarray(x, dtype=np.float64) - self.mu) / self.sd) @ self.w[1:]
        return 1 / (1 + np.exp(-np.clip(z, -35, 35)))


def stratified_folds(y: Sequence[int], k: int, seed: int = 0) -> list[np.ndarray]:
    """k folds of row indices, each class spread evenly, in a seeded random order."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        for i, j in enumerate(idx):
            folds[(start + i) % k].append(int(j))
        start += len(idx)
    return [np.array(sorted(f), dtype=int) for f in folds if f]


def auc(y: Sequence[int], score: Sequence[float]) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    y = np.asarray(y)
    s = np.asarray(score, dtype=np.float64)
    pos, neg = s[y == 1], s[y == 0]
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


def ranking_scores(truth: Mapping[int, set[str]], scores: Mapping[int, Mapping[str, float]], k: int = 5) -> dict[str, float]:
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


# ---------------------------------------------------------------- relevance and code models


def relevance_features(reduced: np.ndarray, llm_p: np.ndarray) -> np.ndarray:
    """Reduced embedding plus the LLM's log-odds (0 where the LLM gave no score)."""
    prior = np.where(np.isnan(llm_p), 0.0, logit(np.nan_to_num(llm_p, nan=0.5)))
    return np.hstack([reduced, prior[:, None]])


def cross_validated(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, y: np.ndarray, folds: int,
                    seed: int) -> np.ndarray:
    """Out-of-fold predictions: fit_predict(train_idx, test_idx) -> predictions for test_idx."""
    out: np.ndarray | None = None
    for test in stratified_folds(y, folds, seed):
        train = np.setdiff1d(np.arange(n), test)
        pred = np.asarray(fit_predict(train, test))
        if out is None:
            out = np.zeros((n, *pred.shape[1:]))
        out[test] = pred
    assert out is not None
    return out


class CodeModel:
    """P(code applies) per post: the zero-shot similarity, calibrated; plus embeddings for codes with examples."""

    def __init__(self, min_examples: int = 3, l2: float = L2) -> None:
        self.min_examples = min_examples
        self.l2 = l2
        self.shared = Logistic(l2)
        self.own: dict[int, Logistic] = {}

    def fit(self, reduced: np.ndarray, zs: np.ndarray, y: np.ndarray) -> CodeModel:
        """reduced: posts x dims; zs: posts x codes (standardised similarities); y: posts x codes of 0/1."""
        self.shared.fit(zs.reshape(-1, 1), y.reshape(-1))
        self.own = {}
        for c in range(y.shape[1]):
            pos = int(y[:, c].sum())
            if pos >= self.min_examples and len(y) - pos >= self.min_examples:
                feats = np.hstack([reduced, zs[:, c:c + 1]])
                self.own[c] = Logistic(self.l2).fit(feats, y[:, c])
        return self

    def predict(self, reduced: np.ndarray, zs: np.ndarray) -> np.ndarray:
        """posts x codes probabilities."""
        out = self.shared.predict(zs.reshape(-1, 1)).reshape(zs.shape)
        for c, model in self.own.items():
            out[:, c] = model.predict(np.hstack([reduced, zs[:, c:c + 1]]))
        return out


# ---------------------------------------------------------------- against the project database


def _binary(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float | None]:
    p = np.where(np.isnan(p), 0.5, p)
    s = binary_scores(y.astype(int).tolist(), (p >= threshold).astype(int).tolist())
    return {"accuracy": s.accuracy, "false_negative_rate": s.false_negative_rate, "kappa": s.kappa,
            "precision": s.precision, "recall": s.recall, "auc": auc(y, p)}


class _Project:
    """The labelled and unlabelled posts with their cached embeddings and LLM scores, loaded once."""

    def __init__(self, store: Store, codebook: Any, coder: str | None) -> None:
        from tui.core.prelabel import run as pl

        self.store, self.codebook = store, codebook
        self.meta = {k: store.meta(f"prelabel.{k}") or "" for k in
                     ("model_hash", "prompt_hash", "embed_hash", "code_method", "threshold", "top_k")}
        self.labels = human_labels(store, codebook, coder)
        conn = store.db.conn
        rows = conn.execute(
            "SELECT p.id, p.text_hash, e.vector, c.score FROM posts p"
            " JOIN embeddings e ON e.text_hash = p.text_hash AND e.model_hash = ?"
            " LEFT JOIN prelabel_cache c ON c.text_hash = p.text_hash AND c.model_hash = ? AND c.prompt_hash = ?"
            " AND c.kind = 'relevance' AND c.code_id = '' ORDER BY p.id",
            (self.meta["embed_hash"], self.meta["model_hash"], self.meta["prompt_hash"])).fetchall()
        self.ids = [r[0] for r in rows]
        self.hashes = [r[1] for r in rows]
        self.index = {pid: i for i, pid in enumerate(self.ids)}
        self.llm_p = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
        self.x = np.array([np.frombuffer(r[2], dtype=np.float32) for r in rows]) if rows else np.zeros((0, 1))
        self.reduced = Reducer(self.x)(self.x) if len(rows) > 2 else self.x
        self.codes = [c for c in codebook.codes() if c.level in (2, 3)]
        self.levels = {c.id: c.level for c in self.codes}
        texts = [pl._code_hash(pl.code_text(codebook, c)) for c in self.codes]
        cv = pl._cached_vectors(conn, texts, self.meta["embed_hash"]) if self.meta["embed_hash"] else {}
        self.sims: np.ndarray | None = None
        if self.codes and len(cv) == len(texts) and len(rows):
            self.sims = pl.similarity(self.x, np.array([cv[h] for h in texts]))
        self.yesno: dict[str, dict[str, float]] = {}
        if self.meta["code_method"] == "yesno":
            wanted = {c.id: pl._hash(pl.code_template(codebook, c)) for c in self.codes}
            self.yesno = pl._cached_scores(conn, self.hashes, self.meta["model_hash"], wanted, "code")

    def relevance_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of coder-screened posts that have embeddings, and their 0/1 labels."""
        idx = np.array(sorted(self.index[p] for p in self.labels.relevance if p in self.index), dtype=int)
        return idx, np.array([self.labels.relevance[self.ids[i]] for i in idx], dtype=int)

    def code_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of coder-coded relevant posts, and their posts x codes 0/1 matrix."""
        idx = np.array(sorted(self.index[p] for p, cs in self.labels.codes.items() if cs and p in self.index), dtype=int)
        y = np.array([[c.id in self.labels.codes[self.ids[i]] for c in self.codes] for i in idx], dtype=float)
        return idx, y.reshape(len(idx), len(self.codes))

    def zero_shot(self, i: int) -> dict[str, float] | None:
        """The un-learned code scores of row i: yes/no answers, else similarities mapped to 0..1."""
        if self.yesno:
            return self.yesno.get(self.hashes[i])
        if self.sims is None:
            return None
        return {c.id: float((self.sims[i, j] + 1) / 2) for j, c in enumerate(self.codes)}

    def oof_relevance(self, idx: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
        """Cross-validated learned P(relevant) for the labelled rows."""
        f = relevance_features(self.reduced[:, :dims_for(len(idx))], self.llm_p)[idx]
        return cross_validated(lambda tr, te: Logistic().fit(f[tr], y[tr]).predict(f[te]), len(idx), y, folds, seed)

    def oof_codes(self, idx: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
        """Cross-validated learned code probabilities for the coded rows."""
        assert self.sims is not None
        r, z = self.reduced[idx, :dims_for(len(idx))], standardise_rows(self.sims[idx])
        return cross_validated(lambda tr, te: CodeModel().fit(r[tr], z[tr], y[tr]).predict(r[te], z[te]),
                               len(idx), np.zeros(len(idx), dtype=int), folds, seed)

    def ranked(self, idx: np.ndarray, scores: np.ndarray | None) -> dict[int, dict[str, float]]:
        """post id -> code (level 2) -> score, from a matrix of learned scores or the zero-shot scores."""
        out: dict[int, dict[str, float]] = {}
        for row, i in enumerate(idx):
            if scores is None:
                zs = self.zero_shot(int(i))
                if zs is None:
                    continue
            else:
                zs = {c.id: float(scores[row, j]) for j, c in enumerate(self.codes)}
            out[self.ids[int(i)]] = {c: v for c, v in zs.items() if self.levels.get(c) == 2}
        return out


def learn(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None, folds: int = 5,
          seed: int = 0, min_labels: int = 20, min_coded: int = 10, top_k: int | None = None,
          write: bool = True) -> LearnSummary:
    """Fit the small models on the coders' decisions, cross-validate them, and use them where they beat the LLM."""
    from tui.core.prelabel import run as pl

    proj = _Project(store, codebook, coder)
    summ = LearnSummary(labels_from=proj.labels.source)
    if not proj.ids:
        summ.reason = "No post embeddings yet: run `qualtui prelabel` first."
        return summ
    thr = threshold if threshold is not None else float(proj.meta["threshold"] or codebook.screening.threshold)
    k_top = top_k or int(proj.meta["top_k"] or pl.TOP_K)
    idx, y = proj.relevance_set()
    summ.n_labelled, summ.n_relevant = len(idx), int(y.sum())
    rel_final: np.ndarray | None = None
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(idx) >= min_labels and min(n_pos, n_neg) >= 5:
        summ.folds = min(folds, n_pos, n_neg)
        summ.llm = _binary(y, proj.llm_p[idx], thr)
        summ.learned = _binary(y, proj.oof_relevance(idx, y, summ.folds, seed), thr)
        summ.applied_relevance = (summ.learned["kappa"] or -1.0) >= (summ.llm["kappa"] or -1.0)
        if summ.applied_relevance:
            feats = relevance_features(proj.reduced[:, :dims_for(len(idx))], proj.llm_p)
            rel_final = Logistic().fit(feats[idx], y).predict(feats)
    else:
        summ.reason = (f"Not enough screening decisions to learn from yet: {len(idx)} posts ({n_pos} relevant); "
                       f"learning starts at {min_labels} with at least 5 relevant and 5 irrelevant.")
    codes_final: np.ndarray | None = None
    cidx, cy = proj.code_set()
    summ.n_coded = len(cidx)
    if proj.sims is not None and len(cidx) >= min_coded:
        truth = {proj.ids[int(i)]: {c for c in proj.labels.codes[proj.ids[int(i)]] if proj.levels.get(c) == 2} for i in cidx}
        summ.codes_zero_shot = ranking_scores(truth, proj.ranked(cidx, None))
        summ.codes_learned = ranking_scores(truth, proj.ranked(cidx, proj.oof_codes(cidx, cy, min(folds, len(cidx)), seed)))
        summ.applied_codes = summ.codes_learned["map"] >= summ.codes_zero_shot["map"]
        if summ.applied_codes:
            z = standardise_rows(proj.sims)
            r = proj.reduced[:, :dims_for(len(cidx))]
            codes_final = CodeModel().fit(r[cidx], z[cidx], cy).predict(r, z)
    elif not summ.reason:
        summ.reason = f"Code suggestions are learned once {min_coded} relevant posts are coded ({len(cidx)} so far)."
    if write and (summ.applied_relevance or summ.applied_codes):
        with store.db.conn as conn:
            for i, pid in enumerate(proj.ids):
                rel = float(rel_final[i]) if rel_final is not None else proj.llm_p[i]
                if np.isnan(rel):
                    continue
                scores = (dict(zip([c.id for c in proj.codes], codes_final[i].tolist(), strict=False))
                          if codes_final is not None else proj.zero_shot(i))
                summ.n_written += pl.write_suggestions(
                    conn, pid, rel, "learned" if rel_final is not None else "llm", scores,
                    "learned" if codes_final is not None else "llm", proj.levels, thr, k_top,
                    proj.meta["model_hash"], proj.meta["prompt_hash"])
    return summ


def evaluate(store: Store, codebook: Any, *, coder: str | None = None, threshold: float | None = None,
             source: str = "llm", k: int = 3, folds: int = 5, seed: int = 0) -> EvalReport:
    """Model versus coders: confusion matrix, accuracy, FNR, kappa, AUC, and per-code top-k precision/recall.

    source: 'llm' (the model's own scores), 'learned' (cross-validated, so never scored on its training
    posts) or 'suggestions' (whatever is stored now; optimistic once learned from these very posts).
    """
    if source not in ("llm", "learned", "suggestions"):
        raise ValueError(f"unknown source {source!r}")
    proj = _Project(store, codebook, coder)
    thr = threshold if threshold is not None else float(proj.meta["threshold"] or codebook.screening.threshold)
    labels = proj.labels
    conn = store.db.conn
    scores: dict[int, float] = {}
    if source == "suggestions":
        scores = dict(conn.execute("SELECT post_id, score FROM suggestions WHERE kind = 'relevance'").fetchall())
    elif source == "llm":
        rows = conn.execute(
            "SELECT p.id, c.score FROM posts p JOIN prelabel_cache c ON c.text_hash = p.text_hash AND c.model_hash = ?"
            " AND c.prompt_hash = ? AND c.kind = 'relevance' AND c.code_id = ''",
            (proj.meta["model_hash"], proj.meta["prompt_hash"])).fetchall()
        scores = dict(rows)
    else:
        idx, y = proj.relevance_set()
        if min(int(y.sum()), int(len(y) - y.sum())) >= 2:
            oof = proj.oof_relevance(idx, y, min(folds, int(y.sum()), int(len(y) - y.sum())), seed)
            scores = {proj.ids[int(i)]: float(p) for i, p in zip(idx, oof, strict=False)}
    pids = sorted(p for p in labels.relevance if p in scores)
    truth = [labels.relevance[p] for p in pids]
    probs = [scores[p] for p in pids]
    bs = binary_scores(truth, [int(p >= thr) for p in probs])
    report = EvalReport(labels.source, source, thr, bs.tp, bs.fp, bs.fn, bs.tn, bs.accuracy, bs.precision, bs.recall,
                        bs.false_negative_rate, bs.kappa, auc(truth, probs), k=k,
                        model_hash=proj.meta["model_hash"], prompt_hash=proj.meta["prompt_hash"])
    code_scores: dict[int, dict[str, float]] = {}
    cidx, cy = proj.code_set()
    if source == "suggestions":
        for pid, cid, sc in conn.execute("SELECT post_id, code_id, score FROM suggestions WHERE kind = 'code'"):
            if proj.levels.get(cid) == 2:
                code_scores.setdefault(pid, {})[cid] = sc
    elif source == "llm":
        code_scores = proj.ranked(cidx, None)
    elif proj.sims is not None and len(cidx) >= 4:
        code_scores = proj.ranked(cidx, proj.oof_codes(cidx, cy, min(folds, len(cidx)), seed))
    coded = {p: {c for c in cs if proj.levels.get(c) == 2} for p, cs in labels.codes.items() if p in code_scores}
    report.n_coded = len(coded)
    for code in (c for c in proj.codes if c.level == 2):
        support = sum(code.id in cs for cs in coded.values())
        predicted = tp = 0
        for pid, cs in coded.items():
            top = sorted(code_scores[pid], key=lambda c: -code_scores[pid][c])[:k]
            if code.id in top:
                predicted += 1
                tp += code.id in cs
        if support or predicted:
            report.per_code.append(CodeEval(code.id, code.name, support, predicted, tp,
                                            tp / predicted if predicted else None, tp / support if support else None))
    return report
