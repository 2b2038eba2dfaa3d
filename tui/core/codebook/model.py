"""The codebook: typed frozen dataclasses with lookups, built from validated data, and its content hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Union

from tui.core.codebook.validate import (
    PLACEHOLDER,
    PRELABEL_PLACEHOLDERS,
    SCREENING_PLACEHOLDERS,
    UNPLACED,
    UNPLACED_KEY,
    CodebookError,
    Problem,
)

__all__ = [
    "Assistance", "Category", "Code", "Codebook", "CodebookError", "CodebookNode", "Prelabel", "Problem", "Screening",
    "ScreeningExample", "ScreeningLabel", "PRELABEL_PLACEHOLDERS", "SCREENING_PLACEHOLDERS",
    "UNPLACED", "UNPLACED_KEY", "build_codebook", "codebook_hash", "render_template",
]


@dataclass(frozen=True)
class Code:
    """A code (level 2) or sub-code (level 3); `severity` is effective: own, parent code, category, 1.0."""

    id: str
    name: str
    key: str
    definition: str
    aliases: tuple[str, ...]
    severity: float
    former_ids: tuple[str, ...]
    subcodes: tuple[Code, ...]
    parent_id: str  # the category's id for a code, the parent code's id for a sub-code
    category_id: str
    level: int
    own_severity: float | None = None  # as written in the file, for exports that round-trip
    retired: bool = False


@dataclass(frozen=True)
class Category:
    """A top-level category; `severity` is its own or 1.0."""

    id: str
    name: str
    key: str
    colour: str
    description: str
    severity: float
    codes: tuple[Code, ...]
    own_severity: float | None = None
    level: int = 1
    retired: bool = False


CodebookNode = Union[Category, Code]


@dataclass(frozen=True)
class ScreeningLabel:
    """One relevance label ("0" or "1") of the screening step."""

    name: str
    definition: str = ""


@dataclass(frozen=True)
class ScreeningExample:
    """A few-shot example for the screening prompt."""

    text: str
    label: int


@dataclass(frozen=True)
class Screening:
    """The relevance screen: labels "0"/"1", threshold on P(relevant), prompt template, examples."""

    labels: dict[str, ScreeningLabel]
    threshold: float
    prompt: str
    examples: tuple[ScreeningExample, ...] = ()
    target_fnr: float = 0.088  # the learned screen's target false-negative rate (the study's screen: 3 of 34)


@dataclass(frozen=True)
class Prelabel:
    """Templates for LLM code suggestions."""

    code_prompt: str


DEFAULT_BLIND_SHARE = 0.20
"""The share of posts shown without any model output unless the codebook's `assistance` section says otherwise."""


@dataclass(frozen=True)
class Assistance:
    """How the model's help is shown: the share of posts kept blind and the study seed that picks them."""

    blind_share: float = DEFAULT_BLIND_SHARE
    seed: str = ""  # empty: derived from the codebook's name (see Codebook.study_seed)


@dataclass(frozen=True)
class Codebook:
    """A loaded, valid codebook with lookups by id, former id and key sequence."""

    version: str
    name: str
    description: str
    categories: tuple[Category, ...]
    screening: Screening | None
    prelabel: Prelabel | None
    source: str
    hash: str
    retired: tuple[CodebookNode, ...] = ()
    """Codes and categories taken out of use while coding: still named where posts carry them, never offered."""
    origin: Codebook | None = field(default=None, repr=False, compare=False)
    """The codebook file's own codebook when this one has changes made while coding folded in; else None."""
    assistance: Assistance = field(default_factory=Assistance)
    _nodes: dict[str, CodebookNode] = field(init=False, repr=False, compare=False)
    _former: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nodes: dict[str, CodebookNode] = {}
        former: dict[str, str] = {}
        for cat in self.categories:
            nodes[cat.id] = cat
            for code in _walk(cat.codes):
                nodes[code.id] = code
                former.update((old, code.id) for old in code.former_ids)
        for node in self.retired:
            nodes.setdefault(node.id, node)
            if isinstance(node, Code):
                former.update((old, node.id) for old in node.former_ids if old not in nodes)
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_former", former)

    def __hash__(self) -> int:
        return hash(self.hash)

    @property
    def study_seed(self) -> str:
        """The seed that picks the blind posts: the codebook's own, else one made from its name."""
        return self.assistance.seed or "qualtui-study:" + self.name

    def resolve(self, node_id: str) -> str | None:
        """The current id for an id or former id; None if unknown."""
        return node_id if node_id in self._nodes else self._former.get(node_id)

    def node(self, node_id: str) -> CodebookNode | None:
        """The category or code with this id (or former id); None if unknown."""
        current = self.resolve(node_id)
        return None if current is None else self._nodes[current]

    def _get(self, node_id: str) -> CodebookNode:
        found = self.node(node_id)
        if found is None:
            raise KeyError(node_id)
        return found

    def codes(self) -> Iterator[Code]:
        """All codes and sub-codes, depth-first in file order."""
        for cat in self.categories:
            yield from _walk(cat.codes)

    def nodes(self) -> Iterator[CodebookNode]:
        """All categories, codes and sub-codes, depth-first in file order."""
        for cat in self.categories:
            yield cat
            yield from _walk(cat.codes)

    def children(self, node_id: str | None = None) -> tuple[CodebookNode, ...]:
        """The categories (no id), a category's codes, or a code's sub-codes."""
        if node_id is None:
            return self.categories
        found = self._get(node_id)
        return found.codes if isinstance(found, Category) else found.subcodes

    def parent(self, node_id: str) -> CodebookNode | None:
        """The category or code above this node; None for a category."""
        found = self._get(node_id)
        return None if isinstance(found, Category) else self._nodes[found.parent_id]

    def lineage(self, node_id: str) -> list[CodebookNode]:
        """The nodes from the category down to this one."""
        chain = [self._get(node_id)]
        while (up := self.parent(chain[-1].id)) is not None:
            chain.append(up)
        return chain[::-1]

    def path(self, node_id: str) -> list[str]:
        """Names from the category down to this node; KeyError if unknown."""
        return [n.name for n in self.lineage(node_id)]

    def path_str(self, node_id: str) -> str:
        """The path as one string: 'Recruitment — Targeting › Financial instability › Ransom'."""
        return " › ".join(self.path(node_id))

    def keys(self, node_id: str) -> str:
        """The keystrokes that reach this node from the top, e.g. '14r'."""
        return "".join(n.key for n in self.lineage(node_id))

    def by_keys(self, seq: str) -> CodebookNode | None:
        """The node reached by a key sequence such as '14r'; None if no node has it."""
        found: CodebookNode | None = None
        level: tuple[CodebookNode, ...] = self.categories
        for key in seq:
            found = next((n for n in level if n.key == key), None)
            if found is None:
                return None
            level = found.codes if isinstance(found, Category) else found.subcodes
        return found

    def severity(self, node_id: str) -> float:
        """The effective severity (exposure weight) of a node."""
        return self._get(node_id).severity

    def counts(self) -> tuple[int, int, int]:
        """(categories, codes, sub-codes) in use."""
        codes = sum(len(c.codes) for c in self.categories)
        return len(self.categories), codes, sum(1 for _ in self.codes()) - codes

    def is_retired(self, node_id: str) -> bool:
        """True if the node was retired while coding (it keeps its name, but is never offered)."""
        found = self.node(node_id)
        return found is not None and found.retired

    def file_codebook(self) -> Codebook:
        """The codebook as the file has it, before the changes made while coding."""
        return self.origin or self


def _walk(codes: tuple[Code, ...]) -> Iterator[Code]:
    for code in codes:
        yield code
        yield from code.subcodes


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill {placeholders} in one pass, so text inserted for one is never read as another."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _canonical(data: Any) -> Any:
    # Mapping keys become text so that label 0 and "0" hash alike and sorting never compares int to str.
    if isinstance(data, dict):
        return {str(k): _canonical(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_canonical(v) for v in data]
    return data


def codebook_hash(data: Any) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON of the parsed codebook data."""
    text = json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


UNPLACED_DATA: dict[str, Any] = {
    "id": UNPLACED, "name": "Not yet placed", "key": UNPLACED_KEY, "colour": "#8a8a8a",
    "description": "Codes created during open coding that axial coding has not placed under a category yet.",
}


def _severity(value: Any) -> float | None:
    return None if value is None else float(value)


def _code(d: dict[str, Any], inherited: float, parent_id: str, category_id: str, level: int,
          retired: list[CodebookNode], parent_retired: bool = False) -> Code:
    own = _severity(d.get("severity"))
    effective = inherited if own is None else own
    gone = parent_retired or bool(d.get("retired"))
    code = Code(
        id=d["id"], name=d["name"], key=d["key"], definition=d["definition"].strip(),
        aliases=tuple(d.get("aliases") or ()), severity=effective, former_ids=tuple(d.get("former_ids") or ()),
        subcodes=(), parent_id=parent_id, category_id=category_id, level=level, own_severity=own, retired=gone,
    )
    if gone:  # a node retired in the file is kept out of use the same way as one retired while coding
        retired.append(code)
    subs = [_code(s, effective, d["id"], category_id, 3, retired, gone) for s in d.get("subcodes") or ()]
    return code if gone else dataclasses.replace(code, subcodes=tuple(s for s in subs if not s.retired))


def _category(c: dict[str, Any], retired: list[CodebookNode]) -> Category:
    own = _severity(c.get("severity"))
    effective = 1.0 if own is None else own
    gone = bool(c.get("retired"))
    cat = Category(
        id=c["id"], name=c["name"], key=c["key"], colour=c["colour"].lower(),
        description=(c.get("description") or "").strip(), severity=effective, codes=(), own_severity=own,
        retired=gone,
    )
    if gone:
        retired.append(cat)
    codes = [_code(d, effective, c["id"], c["id"], 2, retired, gone) for d in c.get("codes") or ()]
    return dataclasses.replace(cat, codes=tuple(d for d in codes if not d.retired))


def build_codebook(data: dict[str, Any], source: str = "<string>") -> Codebook:
    """Build the dataclasses from already-validated plain data (what safe_load returns)."""
    retired: list[CodebookNode] = []
    categories = tuple(c for c in (_category(c, retired) for c in data.get("categories") or ()) if not c.retired)
    if data.get("codes"):
        unplaced = _category({**UNPLACED_DATA, "codes": data["codes"]}, retired)
        categories += (unplaced,) if unplaced.codes else ()
    screening = None
    if data.get("screening"):
        s = data["screening"]
        screening = Screening(
            labels={str(k): ScreeningLabel(v["name"], (v.get("definition") or "").strip())
                    for k, v in s["labels"].items()},
            threshold=float(s["threshold"]) if s.get("threshold") is not None else 0.5,
            prompt=s["prompt"],
            examples=tuple(ScreeningExample(e["text"], int(e["label"])) for e in s.get("examples") or ()),
            target_fnr=float(s["target_fnr"]) if s.get("target_fnr") is not None else 0.088,
        )
    prelabel = Prelabel(data["prelabel"]["code_prompt"]) if data.get("prelabel") else None
    a = data.get("assistance") or {}
    share = a.get("blind_share")
    assistance = Assistance(DEFAULT_BLIND_SHARE if share is None else float(share), a.get("seed") or "")
    return Codebook(
        version=data["version"], name=data["name"], description=(data.get("description") or "").strip(),
        categories=categories, screening=screening, prelabel=prelabel, source=source, hash=codebook_hash(data),
        retired=tuple(retired),
        assistance=assistance,
    )
