"""Codebook lookup: fuzzy, case-insensitive, CJK-aware search over ids, names, aliases and definitions."""

from __future__ import annotations

import bisect
import re
import unicodedata
import weakref
from dataclasses import dataclass

from tui.core.codebook.model import Category, Codebook, CodebookNode

__all__ = ["Hit", "search"]

# Ranking: exact name/alias > name prefix > alias > id > word in definition > fuzzy.
EXACT = {"name": 100.0, "alias": 95.0}
PREFIX = {"name": 90.0, "alias": 80.0, "definition": 46.0, "description": 46.0}
WORD = {"name": 86.0, "alias": 78.0, "definition": 50.0, "description": 50.0}
WORD_PREFIX = {"name": 84.0, "alias": 76.0, "definition": 46.0, "description": 46.0}
SUBSTRING = {"name": 70.0, "alias": 68.0, "definition": 42.0, "description": 42.0}
ID_EXACT, ID_SEGMENT, ID_SUBSTRING = 64.0, 62.0, 58.0
FUZZY = {"name": 30.0, "alias": 28.0, "definition": 16.0, "description": 16.0}
FUZZY_STEP = 5.0  # lost per edit
SUBSEQUENCE = 12.0
SPLIT = 8.0  # query words found apart rank below the same words found as a phrase

_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
_HAS_CJK = re.compile(f"[{_CJK}]")
# Latin-script words: letters and digits, but never CJK, which has no spaces to split words on.
_WORD = re.compile(f"[^\\W_{_CJK}]+")

Span = tuple[int, int]


@dataclass(frozen=True)
class Hit:
    """One search result; `spans` are (start, end) offsets into `text`, the matched field's original text."""

    node: CodebookNode
    score: float
    field: str  # "name", "alias", "id", "definition" (codes) or "description" (categories)
    text: str
    spans: tuple[Span, ...]


@dataclass
class _Text:
    field: str
    original: str
    norm: str
    starts: list[int]  # normalised offset -> offset in the original
    ends: list[int]


def _normalise(s: str) -> tuple[str, list[int], list[int]]:
    # NFKC + casefold one base character (with its combining marks) at a time, remembering where
    # every output character came from, so highlights land on the text as written.
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(s)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(s[j]):
            j += 1
        piece = unicodedata.normalize("NFKC", s[i:j]).casefold()
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends


def _is_word_char(c: str) -> bool:
    return c.isalnum() and not _HAS_CJK.match(c)


def _deletes(word: str, depth: int) -> set[str]:
    out, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance: edits, with a swap of neighbours counting as one."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _max_edits(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


Best = dict[int, tuple[float, int, list[Span]]]  # entry -> (score, text index, normalised spans)


def _offer(best: Best, entry: int, score: float, text: int, spans: list[Span]) -> None:
    if entry not in best or score > best[entry][0]:
        best[entry] = (score, text, spans)


def _occurrences(norm: str, q: str) -> list[int]:
    found, pos = [], norm.find(q)
    while pos >= 0:
        found.append(pos)
        pos = norm.find(q, pos + len(q))
    return found


class _Index:
    """Normalised texts, a word list and a typo table for one codebook, built once."""

    def __init__(self, codebook: Codebook) -> None:
        self.ref = weakref.ref(codebook)
        self.nodes: list[CodebookNode] = list(codebook.nodes())
        self.texts: list[list[_Text]] = []
        # word -> where it occurs: (entry, text index, normalised start, end)
        self.words: dict[str, list[tuple[int, int, int, int]]] = {}
        edits: dict[str, int] = {}
        for e, node in enumerate(self.nodes):
            fields = [("name", node.name), ("id", node.id)]
            if isinstance(node, Category):
                fields.append(("description", node.description))
            else:
                fields += [("alias", a) for a in node.aliases] + [("definition", node.definition)]
            texts = [_Text(f, s, *_normalise(s)) for f, s in fields if s]
            self.texts.append(texts)
            for t, text in enumerate(texts):
                if text.field == "id":
                    continue
                for m in _WORD.finditer(text.norm):
                    self.words.setdefault(m.group(), []).append((e, t, m.start(), m.end()))
                    # Long definitions would make the typo table big; one edit is enough there.
                    most = _max_edits(m.group()) if text.field in ("name", "alias") else min(1, _max_edits(m.group()))
                    edits[m.group()] = max(edits.get(m.group(), 0), most)
        self.sorted_words = sorted(self.words)
        self.edits = edits
        # Symmetric-delete typo table: a word within k edits of a query shares a k-deletion variant.
        self.typos: dict[str, list[str]] = {}
        for word, most in edits.items():
            for variant in _deletes(word, most) if most else ():
                self.typos.setdefault(variant, []).append(word)

    def hit(self, entry: int, score: float, t: int, spans: list[Span]) -> Hit:
        """The public result for one entry, with spans mapped back to the original text."""
        text = self.texts[entry][t]
        mapped = sorted((text.starts[a], text.ends[b - 1]) for a, b in spans if b > a)
        merged: list[Span] = []
        for a, b in mapped:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return Hit(self.nodes[entry], round(score, 3), text.field, text.original, tuple(merged))

    def latin(self, q: str, best: Best) -> None:
        """Phrase, word, id, typo and subsequence matches for a query in alphabetic script."""
        q_id = q.replace(" ", "-")
        for e, texts in enumerate(self.texts):
            for t, text in enumerate(texts):
                found = _id_match(text.norm, q_id) if text.field == "id" else _phrase(text, q)
                if found:
                    _offer(best, e, found[0] - len(text.norm) / 10_000, t, found[1])
        words = [w for w in q.split() if len(w) > 1] or [q]
        per_word = [self.word_hits(w) for w in words]
        if len(per_word) == 1:
            for e, (score, t, spans) in per_word[0].items():
                _offer(best, e, score, t, spans)
        else:
            for e in set.intersection(*(set(h) for h in per_word)):
                t = per_word[0][e][1]
                spans = [s for h in per_word if h[e][1] == t for s in h[e][2]]
                _offer(best, e, min(h[e][0] for h in per_word) - SPLIT, t, spans)
        if len(q) >= 3 and " " not in q:
            for e, texts in enumerate(self.texts):
                if e not in best and (sub := _subsequence(texts[0].norm, q)):
                    _offer(best, e, SUBSEQUENCE + 3 * len(q) / (sub[-1][1] - sub[0][0]), 0, sub)

    def word_hits(self, w: str) -> Best:
        """Entries with a word equal to w, starting with w, or within a few typos of it."""
        out: Best = {}
        words, i = self.sorted_words, bisect.bisect_left(self.sorted_words, w)
        while i < len(words) and words[i].startswith(w) and (len(w) > 1 or words[i] == w):  # "a": not a prefix
            word, i = words[i], i + 1
            table = WORD if word == w else WORD_PREFIX
            for e, t, a, b in self.words[word]:
                text = self.texts[e][t]
                _offer(out, e, table[text.field] - len(text.norm) / 10_000, t, [(a, b)])
        most = _max_edits(w)
        candidates = {c for v in _deletes(w, most) for c in self.typos.get(v, ())} if most else set()
        for word in candidates:
            d = _distance(w, word)
            if 0 < d <= min(most, self.edits[word]):
                for e, t, a, b in self.words[word]:
                    _offer(out, e, FUZZY[self.texts[e][t].field] - FUZZY_STEP * d, t, [(a, b)])
        return out

    def cjk(self, q: str, best: Best) -> None:
        """Substring and character-bigram matches for a query in Chinese, Japanese or Korean script."""
        q = q.replace(" ", "")
        grams = {q[i:i + 2] for i in range(len(q) - 1)} if len(q) > 2 else set()
        for e, texts in enumerate(self.texts):
            for t, text in enumerate(texts):
                if text.field == "id":
                    continue
                norm, field = text.norm, text.field
                where = _occurrences(norm, q)
                if where:
                    score = (EXACT[field] if norm == q and field in EXACT
                             else PREFIX[field] if where[0] == 0 and field in ("name", "alias") else WORD[field])
                    _offer(best, e, score - len(norm) / 10_000, t, [(p, p + len(q)) for p in where])
                elif grams:
                    hits = [g for g in grams if g in norm]
                    if len(hits) * 2 >= len(grams):
                        spans = [(p, p + 2) for g in hits for p in _occurrences(norm, g)]
                        _offer(best, e, FUZZY[field] * len(hits) / len(grams), t, spans)
                    elif field in ("name", "alias") and len(norm) > 1 and norm in q:
                        # A longer phrase that contains a whole alias ("支付赎金" holds "赎金").
                        _offer(best, e, FUZZY[field] * (0.5 + 0.5 * len(norm) / len(q)), t, [(0, len(norm))])


def _phrase(text: _Text, q: str) -> tuple[float, list[Span]] | None:
    norm, field = text.norm, text.field
    where = _occurrences(norm, q)
    if not where:
        return None
    spans = [(p, p + len(q)) for p in where]
    if norm == q and field in EXACT:
        return EXACT[field], spans
    score = PREFIX[field] if where[0] == 0 else SUBSTRING[field]
    for p in where:
        if p == 0 or not _is_word_char(norm[p - 1]):
            whole = p + len(q) == len(norm) or not _is_word_char(norm[p + len(q)])
            score = max(score, (WORD if whole else WORD_PREFIX)[field])
    return score, spans


def _id_match(norm: str, q: str) -> tuple[float, list[Span]] | None:
    if norm == q:
        return ID_EXACT, [(0, len(q))]
    pos = norm.find(q)
    if pos < 0:
        return None
    # Only the last segment names this node; an earlier one names an ancestor.
    last = norm.endswith(q) and norm[-len(q) - 1] == "/"
    return (ID_SEGMENT, [(len(norm) - len(q), len(norm))]) if last else (ID_SUBSTRING, [(pos, pos + len(q))])


def _subsequence(name: str, q: str) -> list[Span] | None:
    """The most compact match of q's letters, in order, starting at the start of a word of name."""
    best: list[Span] | None = None
    for s, c in enumerate(name):
        if c != q[0] or (s and _is_word_char(name[s - 1])):
            continue
        spans, i = [(s, s + 1)], 1
        for p in range(s + 1, len(name)):
            if i == len(q):
                break
            if name[p] == q[i]:
                spans.append((p, p + 1))
                i += 1
        if i == len(q) and (best is None or spans[-1][1] - s < best[-1][1] - best[0][0]):
            best = spans
    return best


_INDEXES: dict[int, _Index] = {}


def _index(codebook: Codebook) -> _Index:
    found = _INDEXES.get(id(codebook))
    if found is None or found.ref() is not codebook:
        found = _INDEXES[id(codebook)] = _Index(codebook)
        weakref.finalize(codebook, _INDEXES.pop, id(codebook), None)
    return found


def search(codebook: Codebook, query: str, limit: int = 20) -> list[Hit]:
    """The best matches for a query among categories, codes and sub-codes, best first; [] for no query."""
    q = " ".join(_normalise(query)[0].split())
    if not q or limit <= 0:
        return []
    index = _index(codebook)
    best: Best = {}
    if _HAS_CJK.search(q):
        index.cjk(q, best)
    else:
        index.latin(q, best)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [index.hit(e, score, t, spans) for e, (score, t, spans) in ranked]
