"""Small scikit-learn models that learn from the coders: principal components, the relevance screen, per-code models.

Everything here runs in well under a second on a few hundred labelled posts and stays on this machine.
scikit-learn is imported where a model is built, not with this module: it takes a second to load, and
it loads Rich for its own progress bars when Rich is installed, which the core must not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "C_EMBED", "C_TEXT", "PCA_DIM", "CodeModel", "Floats", "Reducer", "RelevanceModel", "TextFeatures",
    "decision_scores", "dims_for", "logit", "relevance_features", "standardise_rows",
]

PCA_DIM = 64
C_EMBED = 1.0  # inverse L2 strength on standardised embedding components (as λ = 1 before; measured, docs)
C_TEXT = 10.0  # TF-IDF rows have unit length, so their weights need a weaker penalty to matter (measured, docs)
FEW = 8  # relevant posts from which the text-and-vectors regression is calibrated alone, not stacked
VECTOR_WEIGHT = 0.1  # embedding features beside TF-IDF rows of unit length: scaled so words still count
MAX_VOCAB_POSTS = 5000  # posts the TF-IDF vocabulary and weights are fitted on (labelled ones first)

Floats = NDArray[np.float64]


def dims_for(n_labelled: int) -> int:
    """Principal components a model may use: about one per six labelled posts, 8 to 64 (measured, docs/prelabel.md)."""
    return max(8, min(PCA_DIM, n_labelled // 6))


def logit(p: ArrayLike, eps: float = 1e-4) -> Floats:
    """log(p / (1 - p)), clipped so 0 and 1 stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    out: Floats = np.log(q / (1 - q))
    return out


def sigmoid(z: ArrayLike) -> Floats:
    """The inverse of logit."""
    out: Floats = 1 / (1 + np.exp(-np.clip(np.asarray(z, dtype=np.float64), -35, 35)))
    return out


def decision_scores(p: ArrayLike, threshold: float, at: float) -> Floats:
    """p shifted in log-odds so that `threshold` lands on `at`: q >= at exactly where p >= threshold."""
    return sigmoid(logit(p, 1e-9) - logit(threshold, 1e-9) + logit(at, 1e-9))


def standardise_rows(x: Floats) -> Floats:
    """Each row minus its mean, over its standard deviation (scores of one post across codes)."""
    sd = x.std(axis=1, keepdims=True)
    out: Floats = (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    return out


class Reducer:
    """Centre and project embeddings on their first principal components (fit on all posts, labels unused)."""

    def __init__(self, vectors: ArrayLike, dim: int = PCA_DIM) -> None:
        x = np.asarray(vectors, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        self.mean: Floats = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        k = max(1, min(dim, int((s > s[0] * 1e-6).sum()) if len(s) else 1))
        self.components: Floats = vt[:k]
        self.scale: Floats = np.where(s[:k] > 0, s[:k] / math.sqrt(max(1, len(x) - 1)), 1.0)

    def __call__(self, vectors: ArrayLike) -> Floats:
        """Whitened principal-component coordinates."""
        x = np.asarray(vectors, dtype=np.float64)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        out: Floats = (x - self.mean) @ self.components.T / self.scale
        return out


def relevance_features(reduced: Floats, llm_p: Floats) -> Floats:
    """Reduced embedding plus the LLM's log-odds (0 where the LLM gave no score)."""
    prior = np.where(np.isnan(llm_p), 0.0, logit(np.nan_to_num(llm_p, nan=0.5)))
    return np.hstack([reduced, prior[:, None]])


class TextFeatures:
    """TF-IDF of word 1-2 grams and character 2-5 grams (within words), fitted on the project's posts, labels unused."""

    def __init__(self, texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        self.union = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, max_features=200_000)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                      max_features=300_000)),
        ])
        self.union.fit([t or " " for t in texts])

    def __call__(self, texts: Sequence[str]) -> Any:
        """Sparse posts x features matrix."""
        from scipy import sparse

        return sparse.csr_matrix(self.union.transform([t or " " for t in texts]))


def _text_lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    # liblinear's dual solver: fast when features (n-grams) far outnumber posts
    return LogisticRegression(C=C_TEXT, class_weight="balanced", solver="liblinear", dual=True, max_iter=2000)


class _WordsAndVectors:
    """The text regression, on TF-IDF rows with the standardised embedding features beside them (scaled down)."""

    def fit(self, text_x: Any, embed_x: Floats, y: Any) -> _WordsAndVectors:
        from sklearn.preprocessing import StandardScaler

        self.scale = StandardScaler().fit(embed_x)
        self.lr = _text_lr().fit(self._features(text_x, embed_x), y)
        return self

    def _features(self, text_x: Any, embed_x: Floats) -> Any:
        from scipy import sparse

        return sparse.hstack([text_x, sparse.csr_matrix(self.scale.transform(embed_x) * VECTOR_WEIGHT)]).tocsr()

    def predict(self, text_x: Any, embed_x: Floats) -> Floats:
        """P(relevant) per row, uncalibrated."""
        out: Floats = self.lr.predict_proba(self._features(text_x, embed_x))[:, 1]
        return out


def _embed_lr() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(C=C_EMBED, class_weight="balanced", solver="liblinear"))])


class RelevanceModel:
    """P(relevant): one regression on TF-IDF rows with the embedding features beside them, calibrated.

    The calibration is a logistic regression on the model's out-of-fold log-odds (posts it did not
    see). While fewer than FEW relevant posts are labelled it also takes the out-of-fold log-odds of a
    regression on the embedding features alone, i.e. it stacks the two: a handful of relevant posts
    share few words. `oof` keeps the calibrated out-of-fold probabilities of the training posts, from
    which the decision threshold is chosen (measured, docs/prelabel.md).
    """

    def __init__(self, folds: int = 5, seed: int = 0) -> None:
        self.folds, self.seed = folds, seed
        self.text = _WordsAndVectors()
        self.embed = _embed_lr()
        from sklearn.linear_model import LogisticRegression

        self.meta = LogisticRegression(C=1.0, class_weight="balanced", solver="liblinear")
        self.oof: Floats = np.zeros(0)

    def fit(self, text_x: Any, embed_x: Floats, y: ArrayLike) -> RelevanceModel:
        """Fit on the labelled posts' TF-IDF rows, embedding features and 0/1 labels (both classes needed)."""
        from sklearn.model_selection import StratifiedKFold

        ys = np.asarray(y, dtype=np.int_)
        k = max(2, min(self.folds, int(ys.sum()), int(len(ys) - ys.sum())))
        base = np.zeros((len(ys), 2))
        for train, test in StratifiedKFold(k, shuffle=True, random_state=self.seed).split(embed_x, ys):
            base[test, 0] = _WordsAndVectors().fit(text_x[train], embed_x[train], ys[train]).predict(
                text_x[test], embed_x[test])
            base[test, 1] = _embed_lr().fit(embed_x[train], ys[train]).predict_proba(embed_x[test])[:, 1]
        self.cols = 1 if int(ys.sum()) >= FEW else 2
        self.meta.fit(logit(base[:, :self.cols]), ys)
        if (self.meta.coef_ <= 0).any():
            # With a handful of relevant posts the out-of-fold odds can rank them backwards by chance; a
            # calibration that turned the model's order round would throw its ranking away.
            self.meta = _Mean()
        self.oof = self.meta.predict_proba(logit(base[:, :self.cols]))[:, 1]
        self.text = _WordsAndVectors().fit(text_x, embed_x, ys)
        self.embed.fit(embed_x, ys)
        return self

    def predict(self, text_x: Any, embed_x: Floats) -> Floats:
        """P(relevant) per row."""
        base = np.column_stack([self.text.predict(text_x, embed_x), self.embed.predict_proba(embed_x)[:, 1]])
        base = base[:, :self.cols]
        out: Floats = self.meta.predict_proba(logit(base))[:, 1]
        return out


class _Mean:
    """Stands in for the calibration when it would reverse a model's order: the mean of the models' log-odds."""

    def predict_proba(self, x: Floats) -> Floats:
        p = sigmoid(np.asarray(x).mean(axis=1))
        out: Floats = np.column_stack([1 - p, p])
        return out


class _Constant:
    """Stands in for a regression whose training targets were all one class."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, x: Any) -> Floats:
        out: Floats = np.column_stack([np.full(len(x), 1 - self.p), np.full(len(x), self.p)])
        return out


def _fit(x: Floats, y: Floats, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    ys = np.asarray(y, dtype=np.int_)
    if len(set(ys.tolist())) < 2:
        return _Constant(float(np.clip(ys.mean() if len(ys) else 0.0, 1e-3, 1 - 1e-3)))
    return Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=c, solver="liblinear"))]).fit(x, ys)


class CodeModel:
    """P(code applies) per post: the zero-shot similarity, calibrated; plus embeddings for codes with examples."""

    def __init__(self, min_examples: int = 3, c: float = C_EMBED) -> None:
        self.min_examples = min_examples
        self.c = c
        self.shared: Any = _Constant(0.0)
        self.own: dict[int, Any] = {}

    def fit(self, reduced: Floats, zs: Floats, y: Floats) -> CodeModel:
        """reduced: posts x dims; zs: posts x codes (standardised similarities); y: posts x codes of 0/1."""
        self.shared = _fit(zs.reshape(-1, 1), y.reshape(-1), self.c)
        self.own = {}
        for c in range(y.shape[1]):
            pos = int(y[:, c].sum())
            if pos >= self.min_examples and len(y) - pos >= self.min_examples:
                self.own[c] = _fit(np.hstack([reduced, zs[:, c:c + 1]]), y[:, c], self.c)
        return self

    def predict(self, reduced: Floats, zs: Floats) -> Floats:
        """posts x codes probabilities."""
        out: Floats = self.shared.predict_proba(zs.reshape(-1, 1))[:, 1].reshape(zs.shape)
        for c, model in self.own.items():
            out[:, c] = model.predict_proba(np.hstack([reduced, zs[:, c:c + 1]]))[:, 1]
        return out
