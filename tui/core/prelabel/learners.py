"""Small numpy models that learn from the coders: principal components, logistic regression, per-code models.

Everything here runs in milliseconds on a few hundred labelled posts and stays on this machine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "L2", "PCA_DIM", "CodeModel", "Floats", "Logistic", "Reducer", "dims_for", "logit", "relevance_features",
    "standardise_rows",
]

PCA_DIM = 64
L2 = 1.0

Floats = NDArray[np.float64]


def dims_for(n_labelled: int) -> int:
    """Principal components a model may use: about one per six labelled posts, 8 to 64 (measured, docs/prelabel.md)."""
    return max(8, min(PCA_DIM, n_labelled // 6))


def logit(p: ArrayLike, eps: float = 1e-4) -> Floats:
    """log(p / (1 - p)), clipped so 0 and 1 stay finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    out: Floats = np.log(q / (1 - q))
    return out


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


class Logistic:
    """L2-regularised logistic regression fitted by Newton's method (the intercept is not penalised)."""

    def __init__(self, l2: float = L2, iterations: int = 50) -> None:
        self.l2 = l2
        self.iterations = iterations
        self.w: Floats = np.zeros(0)
        self.mu: Floats = np.zeros(0)
        self.sd: Floats = np.ones(0)

    def fit(self, x: ArrayLike, y: ArrayLike, weight: ArrayLike | None = None) -> Logistic:
        """Fit on rows x (standardised here) and 0/1 targets y."""
        xs = np.asarray(x, dtype=np.float64)
        ys = np.asarray(y, dtype=np.float64)
        self.mu, sd = xs.mean(axis=0), xs.std(axis=0)
        self.sd = np.where(sd > 0, sd, 1.0)
        a = np.hstack([np.ones((len(xs), 1)), (xs - self.mu) / self.sd])
        sw = np.ones(len(ys)) if weight is None else np.asarray(weight, dtype=np.float64)
        penalty = np.full(a.shape[1], self.l2)
        penalty[0] = 1e-8
        w = np.zeros(a.shape[1])
        base = np.clip((sw * ys).sum() / sw.sum(), 1e-3, 1 - 1e-3)
        w[0] = math.log(base / (1 - base))
        for _ in range(self.iterations):
            p = 1 / (1 + np.exp(-np.clip(a @ w, -35, 35)))
            grad = a.T @ (sw * (p - ys)) + penalty * w
            hess = (a * (sw * p * (1 - p))[:, None]).T @ a + np.diag(penalty)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-7:
                break
        self.w = w
        return self

    def predict(self, x: ArrayLike) -> Floats:
        """P(y = 1) per row."""
        z = self.w[0] + ((np.asarray(x, dtype=np.float64) - self.mu) / self.sd) @ self.w[1:]
        out: Floats = 1 / (1 + np.exp(-np.clip(z, -35, 35)))
        return out


def relevance_features(reduced: Floats, llm_p: Floats) -> Floats:
    """Reduced embedding plus the LLM's log-odds (0 where the LLM gave no score)."""
    prior = np.where(np.isnan(llm_p), 0.0, logit(np.nan_to_num(llm_p, nan=0.5)))
    return np.hstack([reduced, prior[:, None]])


class CodeModel:
    """P(code applies) per post: the zero-shot similarity, calibrated; plus embeddings for codes with examples."""

    def __init__(self, min_examples: int = 3, l2: float = L2) -> None:
        self.min_examples = min_examples
        self.l2 = l2
        self.shared = Logistic(l2)
        self.own: dict[int, Logistic] = {}

    def fit(self, reduced: Floats, zs: Floats, y: Floats) -> CodeModel:
        """reduced: posts x dims; zs: posts x codes (standardised similarities); y: posts x codes of 0/1."""
        self.shared.fit(zs.reshape(-1, 1), y.reshape(-1))
        self.own = {}
        for c in range(y.shape[1]):
            pos = int(y[:, c].sum())
            if pos >= self.min_examples and len(y) - pos >= self.min_examples:
                feats = np.hstack([reduced, zs[:, c:c + 1]])
                self.own[c] = Logistic(self.l2).fit(feats, y[:, c])
        return self

    def predict(self, reduced: Floats, zs: Floats) -> Floats:
        """posts x codes probabilities."""
        out = self.shared.predict(zs.reshape(-1, 1)).reshape(zs.shape)
        for c, model in self.own.items():
            out[:, c] = model.predict(np.hstack([reduced, zs[:, c:c + 1]]))
        return out
