"""Masking graphic terms in post text, and short severity labels for the post header.

A lexicon is a list of terms in English and Chinese. Matching is case-insensitive. English terms
match whole words only ("rape" never masks "grape"); a `*` at the end of an English word matches
any ending ("tortur*" masks torture, tortured, torturing); the words of a multi-word term may be
separated by any spaces or hyphens. Chinese terms match anywhere, since Chinese has no spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TERMS_EN",
    "DEFAULT_TERMS_ZH",
    "Lexicon",
    "apply_mask",
    "default_lexicon",
    "mask",
    "masked",
    "severity_label",
]

DEFAULT_TERMS_EN: tuple[str, ...] = (
    "tortur*", "rape", "raped", "rapes", "raping", "rapist*", "gang rape", "gang raped",
    "sexual assault*", "sexually assaulted", "sexual violence", "sexual abuse", "sexually abused",
    "molest*", "forced prostitution", "sex slave*", "child sexual abuse", "child abuse",
    "electrocut*", "electric shock*", "electric baton*", "stun gun*", "taser*", "cattle prod*",
    "organ harvest*", "harvest* organs", "organ traffick*", "kidney* removed", "sold for organs",
    "sold for their organs", "beaten to death", "beat* to death", "beat* him to death",
    "beat* her to death", "murder*", "killed", "dismember*", "mutilat*", "behead*", "decapitat*",
    "whipp*", "flogg*", "shackl*", "water dungeon*", "water prison*", "burned alive", "burnt alive",
    "buried alive", "corpse*", "dead bod*", "broken bone*", "stabbed", "shot dead", "suicid*",
    "waterboard*",
)
"""Graphic English terms masked by default (extend with the `lexicon` setting)."""

DEFAULT_TERMS_ZH: tuple[str, ...] = (
    "电击", "电棍", "电警棍", "电刑", "酷刑", "折磨", "虐待", "毒打", "殴打", "暴打", "吊打", "鞭打",
    "打死", "打残", "打断腿", "打断手脚", "砍手", "剁手指", "砍死", "分尸", "肢解", "斩首",
    "强奸", "轮奸", "性侵", "性虐", "性奴", "强迫卖淫", "逼良为娼",
    "割腰子", "嘎腰子", "噶腰子", "摘肾", "割肾", "活摘器官", "摘器官", "贩卖器官", "器官买卖",
    "水牢", "地牢", "小黑屋", "狗笼", "老虎凳", "烟头烫", "血肉模糊", "尸体", "跳楼", "自杀",
    "電擊", "強姦", "強暴", "虐殺", "虐杀",
)
"""Graphic Chinese terms masked by default (simplified, with a few traditional forms)."""

_LATIN = re.compile(r"[A-Za-z0-9]")
_SEP = re.compile(r"[\s\-]+")


def _term_pattern(term: str) -> str:
    """One lexicon term as a regular expression (see the module docstring for the rules)."""
    words = [w for w in _SEP.split(term.strip()) if w]
    parts = []
    for word in words:
        if word.endswith("*") and _LATIN.match(word[-2:-1] or " "):
            parts.append(re.escape(word.rstrip("*")) + "[A-Za-z]*")
        else:
            parts.append(re.escape(word))
    pattern = r"[\s\-]+".join(parts)
    # Whole words only for Latin script: no letter or digit may touch either end.
    if _LATIN.match(words[0][0]):
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if _LATIN.match(words[-1].rstrip("*")[-1:] or " "):
        pattern += r"(?![A-Za-z0-9])"
    return pattern


@dataclass(frozen=True)
class Lexicon:
    """A compiled set of terms; build it once (`Lexicon.of(terms)`) and reuse it for every post."""

    terms: tuple[str, ...]
    regex: re.Pattern[str] | None

    @classmethod
    def of(cls, terms: Iterable[str]) -> Lexicon:
        """Compile terms into one regex; longer terms are tried first, so the longest match wins."""
        clean = tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip().strip("*")))
        if not clean:
            return cls((), None)
        ordered = sorted(clean, key=lambda t: (-len(t.rstrip("*")), t))
        alternation = "|".join(_term_pattern(t) for t in ordered)
        # The leading character class lets the engine skip most positions cheaply; the capturing
        # lookahead then matches at every remaining position, so overlapping terms are all found.
        firsts = "".join(sorted({re.escape(t[0]) for t in clean}))
        return cls(clean, re.compile(f"(?=[{firsts}])(?=({alternation}))", re.IGNORECASE))

    def extended(self, extra: Iterable[str]) -> Lexicon:
        """This lexicon plus more terms."""
        return Lexicon.of((*self.terms, *extra))


@functools.lru_cache(maxsize=8)
def default_lexicon(extra: tuple[str, ...] = ()) -> Lexicon:
    """The shipped English and Chinese terms, plus any extra terms (e.g. `settings.lexicon`)."""
    return Lexicon.of((*DEFAULT_TERMS_EN, *DEFAULT_TERMS_ZH, *extra))


def mask(text: str, lexicon: Lexicon | Iterable[str] | None = None) -> list[tuple[int, int]]:
    """Character spans `(start, end)` of graphic terms in `text`, sorted, overlaps and touching spans merged."""
    lex = default_lexicon() if lexicon is None else lexicon
    if not isinstance(lex, Lexicon):
        lex = Lexicon.of(lex)
    if lex.regex is None or not text:
        return []
    spans: list[tuple[int, int]] = []
    for m in lex.regex.finditer(text):
        start, end = m.start(1), m.end(1)
        if end <= start:
            continue
        if spans and start <= spans[-1][1]:
            if end > spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def apply_mask(text: str, spans: Iterable[tuple[int, int]], block: str = "█") -> str:
    """The text with each span blacked out, keeping its width on screen (two blocks per wide character)."""
    out = []
    pos = 0
    for start, end in spans:
        out.append(text[pos:start])
        for ch in text[start:end]:
            if ch.isspace():
                out.append(ch)
            else:
                out.append(block * (2 if unicodedata.east_asian_width(ch) in "WF" else 1))
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def masked(text: str, lexicon: Lexicon | Iterable[str] | None = None) -> str:
    """The text with its graphic terms blacked out (titles, tags, quotes, memos: anything from a post)."""
    return apply_mask(text, mask(text, lexicon))


def severity_label(weight: float) -> str | None:
    """A short header label for a post's exposure weight, or None for general content."""
    if weight >= 2.0:
        return "severe content"
    if weight >= 1.5:
        return "violence"
    return None
