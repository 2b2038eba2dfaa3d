"""Checking a codebook's composed YAML tree against the schema: every problem, with file and line."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

SCREENING_PLACEHOLDERS = ("post", "examples", "label0", "label1")
PRELABEL_PLACEHOLDERS = ("post", "code", "definition", "category", "path", "aliases")

_T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE, TIMESTAMP = (
    _T + t for t in ("str", "int", "float", "bool", "null", "merge", "timestamp"))
# Same placeholder rule as render_template: anything else in braces (JSON in a prompt) stays literal.
UNPLACED = "unplaced"
"""The id reserved for the category of codes not yet placed (the model builds it from top-level `codes:`)."""
UNPLACED_KEY = "0"

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_SLUG_PATH = re.compile(r"[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*\Z")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}\Z")
# PyYAML's safe constructor already knows YAML's number forms (0x1f, 1_000, .inf); reuse it.
_CONSTRUCT = yaml.constructor.SafeConstructor()

FIELDS: dict[str, tuple[str, ...]] = {
    "codebook": ("version", "name", "description", "categories", "codes", "screening", "prelabel", "assistance"),
    "category": ("id", "name", "key", "colour", "description", "severity", "retired", "codes"),
    "code": ("id", "name", "key", "definition", "aliases", "severity", "former_ids", "retired", "subcodes"),
    "sub-code": ("id", "name", "key", "definition", "aliases", "severity", "former_ids", "retired"),
    "screening": ("labels", "threshold", "target_fnr", "prompt", "examples"),
    "label": ("name", "definition"),
    "example": ("text", "label"),
    "prelabel": ("code_prompt",),
    "assistance": ("blind_share", "seed"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "codebook": ("version", "name"),
    "category": ("id", "name", "key", "colour"),
    "code": ("id", "name", "key", "definition"),
    "sub-code": ("id", "name", "key", "definition"),
    "screening": ("labels", "prompt"),
    "label": ("name",),
    "example": ("text", "label"),
    "prelabel": ("code_prompt",),
    "assistance": (),
}

Fields = dict[str, tuple[Node, Node]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a codebook file, at a 1-based line when one is known."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class CodebookError(Exception):
    """A codebook that cannot be used; `problems` lists everything found wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def line_of(node: Node) -> int:
    """The 1-based line a YAML node starts on."""
    return node.start_mark.line + 1


def _describe(node: Node) -> str:
    if isinstance(node, (MappingNode, SequenceNode)):
        return "a mapping" if isinstance(node, MappingNode) else "a list"
    kinds = {INT: "a number", FLOAT: "a number", BOOL: "true/false", TIMESTAMP: "a date"}
    if node.tag in kinds:
        return f"{kinds[node.tag]} ({node.value})"
    return {STR: "text", NULL: "empty"}.get(node.tag) or f"a value tagged {node.tag.replace(_T, '!!')}"


def _number(node: Node) -> float | None:
    if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
        return float(_CONSTRUCT.construct_yaml_int(node) if node.tag == INT else _CONSTRUCT.construct_yaml_float(node))
    return None


def _text_line(node: Node, pos: int) -> int:
    # In a literal block (|) the text starts on the next line and its line breaks are the file's.
    if isinstance(node, ScalarNode) and node.style == "|":
        text: str = node.value
        return line_of(node) + 1 + text.count("\n", 0, pos)
    return line_of(node)


class Checker:
    """Walks the composed tree of a codebook against the schema, collecting every problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.ids: dict[str, tuple[int, bool]] = {}  # id -> (line, is a former id)

    def add(self, line: int, message: str) -> None:
        """Record one problem at a line."""
        self.problems.append(Problem(self.source, line, message))

    def fields(self, node: Node, kind: str, what: str) -> Fields | None:
        """The fields of a mapping, after reporting unknown and missing ones; None if not a mapping."""
        if not isinstance(node, MappingNode):
            listed = ", ".join(_REQUIRED[kind] or FIELDS[kind])
            self.add(line_of(node), f"{what} should be a mapping of fields ({listed}), not {_describe(node)}")
            return None
        found: Fields = {}
        for key, value in self.pairs(node):
            name = key.value if isinstance(key, ScalarNode) else None
            if name is None or key.tag != STR:
                self.add(line_of(key), f"{what} has a field name that is {_describe(key)}; field names are text")
            elif name == "subcodes" and kind == "sub-code":
                self.add(line_of(key), f"{what} has subcodes, but sub-codes cannot have their own: "
                                       "the tree is three levels deep (category › code › sub-code)")
            elif name not in FIELDS[kind]:
                close = difflib.get_close_matches(name, FIELDS[kind], n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else f" (known fields: {', '.join(FIELDS[kind])})"
                self.add(line_of(key), f"unknown field '{name}' in {what}{hint}")
            elif not (isinstance(value, ScalarNode) and value.tag == NULL and name not in _REQUIRED[kind]):
                found[name] = (key, value)  # an empty optional field counts as absent
        for name in _REQUIRED[kind]:
            if name not in found:
                self.add(line_of(node), f"{what} has no {name}")
            elif isinstance(found[name][1], ScalarNode) and found[name][1].tag == NULL:
                self.add(line_of(found[name][0]), f"{what} has no {name} (the field is empty)")
                del found[name]
        return found

    def pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        """The key/value pairs of a mapping with YAML merges (<<: *defaults) applied; own fields win."""
        own = [(k, v) for k, v in node.value if k.tag != MERGE]
        merged: list[tuple[Node, Node]] = []
        for k, v in node.value:
            if k.tag == MERGE:
                sources = v.value if isinstance(v, SequenceNode) else [v]
                for src in sources:
                    if isinstance(src, MappingNode):
                        merged.extend(self.pairs(src))
                    else:
                        self.add(line_of(src), f"a YAML merge (<<) needs a mapping, not {_describe(src)}")
        names = {k.value for k, _ in own if isinstance(k, ScalarNode)}
        kept: dict[str, tuple[Node, Node]] = {}
        for k, v in merged:
            if isinstance(k, ScalarNode) and k.value not in names:
                kept.setdefault(k.value, (k, v))
        return list(kept.values()) + own

    def text(self, node: Node, what: str, empty_ok: bool = True) -> str | None:
        """The value of a text field, or None after reporting why it is not text."""
        if not (isinstance(node, ScalarNode) and node.tag == STR):
            hint = "; put it in quotes" if node.tag in (INT, FLOAT, BOOL, TIMESTAMP) else ""
            self.add(line_of(node), f"{what} should be text, not {_describe(node)}{hint}")
            return None
        if not empty_ok and not node.value.strip():
            self.add(line_of(node), f"{what} is empty")
            return None
        value: str = node.value
        return value

    def items(self, node: Node, what: str) -> list[Node]:
        """The items of a list field, or [] after reporting that it is not a list."""
        if not isinstance(node, SequenceNode):
            self.add(line_of(node), f"{what} should be a list, not {_describe(node)}")
            return []
        items: list[Node] = node.value
        return items

    def number(self, node: Node, what: str, low: float, high: float) -> float | None:
        """A number within [low, high], or None after reporting why not."""
        value = _number(node)
        if value is None or not low <= value <= high:
            shown = node.value if isinstance(node, ScalarNode) else _describe(node)
            self.add(line_of(node), f"{what} should be a number from {low} to {high}, not {shown}")
            return None
        return value

    def key(self, node: Node, what: str) -> str | None:
        """A key: exactly one printable, non-space character."""
        if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT, BOOL):
            self.add(line_of(node), f"the key of {what} is {_describe(node)}; put it in quotes, "
                                    f"e.g. key: \"{node.value}\"")
            return None
        key = self.text(node, f"the key of {what}")
        if key is None:
            return None
        if key == "":
            problem = f"the key of {what} is empty"
        elif len(key) > 1:
            problem = f"the key '{key}' of {what} is {len(key)} characters long"
            problem += " (modifier keys are not supported)" if "+" in key else ""
        elif key.isspace() or not key.isprintable():
            problem = f"the key {key!r} of {what} is a space or control character"
        else:
            return key
        self.add(line_of(node), f"{problem}; a key is one printable character, like 'a' or '4'")
        return None

    def ident(self, node: Node, what: str, slash: bool, former: bool = False) -> None:
        """Check an id's form and that it is unique in the whole file, former ids included."""
        value = self.text(node, f"the {'former id' if former else 'id'} of {what}")
        if value is None:
            return
        if not (_SLUG_PATH if slash else _SLUG).match(value):
            like = "a lowercase slug path like 'control/physical-abuse'" if slash else "a lowercase slug like 'control'"
            self.add(line_of(node), f"the id '{value}' of {what} should be {like} (letters a–z, digits and '-')")
            return
        line = line_of(node)
        if value not in self.ids:
            self.ids[value] = (line, former)
            return
        first, was_former = self.ids[value]
        if former:
            self.add(line, f"the former id '{value}' of {what} is already used on line {first}")
        elif was_former:
            self.add(line, f"the id '{value}' of {what} is already a former id on line {first}")
        else:
            self.add(line, f"the id '{value}' is used twice (also on line {first})")

    def template(self, node: Node, what: str, required: tuple[str, ...], allowed: tuple[str, ...]) -> None:
        """Check a prompt template's {placeholders}: the required ones present, no unknown ones."""
        text = self.text(node, what, empty_ok=False)
        if text is None:
            return
        present = set()
        for m in PLACEHOLDER.finditer(text):
            present.add(m.group(1))
            if m.group(1) not in allowed:
                known = ", ".join("{" + a + "}" for a in allowed)
                self.add(_text_line(node, m.start()), f"{what} uses the unknown placeholder {m.group()}; "
                                                      f"it may use {known}")
        for name in required:
            if name not in present:
                self.add(line_of(node), f"{what} has no {{{name}}} placeholder")


def check_siblings(checker: Checker, keys: list[tuple[str, int]], group: str) -> None:
    """Report keys used twice among one set of siblings."""
    seen: dict[str, int] = {}
    for key, line in keys:
        if key in seen:
            checker.add(line, f"the key '{key}' is used twice among {group} (also on line {seen[key]})")
        else:
            seen[key] = line


def validate(root: Node, source: str) -> list[Problem]:
    """Every schema problem in a composed codebook (already through the alias guard), in line order."""
    c = Checker(source)
    top = c.fields(root, "codebook", "the codebook")
    if top is not None:
        for name in ("version", "name"):
            if name in top:
                c.text(top[name][1], f"the codebook's {name}", empty_ok=False)
        if "description" in top:
            c.text(top["description"][1], "the codebook's description")
        # A skeleton is valid: categories without codes, or none at all, with codes not yet placed
        # under a category in a top-level `codes:` list (open coding fills it in).
        if "categories" in top:
            keys: list[tuple[str, int]] = []
            for cat in c.items(top["categories"][1], "the categories"):
                _category(c, cat, keys)
            _siblings(c, keys, "the categories")
        if "codes" in top:
            code_keys: list[tuple[str, int]] = []
            for code in c.items(top["codes"][1], "the codebook's top-level codes"):
                _code(c, code, code_keys, "code")
            _siblings(c, code_keys, "the top-level codes")
        if "screening" in top:
            _screening(c, top["screening"][1])
        if "prelabel" in top:
            pre = c.fields(top["prelabel"][1], "prelabel", "the prelabel section")
            if pre and "code_prompt" in pre:
                c.template(pre["code_prompt"][1], "the prelabel code_prompt", ("post", "code", "definition"),
                           PRELABEL_PLACEHOLDERS)
        if "assistance" in top:
            _assistance(c, top["assistance"][1])
    return sorted(c.problems, key=lambda p: p.line or 0)


def _assistance(c: Checker, node: Node) -> None:
    """The blind arm: a share from 0 to 1 and a seed that is text (both optional)."""
    f = c.fields(node, "assistance", "the assistance section")
    if f and "blind_share" in f:
        c.number(f["blind_share"][1], "the assistance blind_share", 0.0, 1.0)
    if f and "seed" in f:
        c.text(f["seed"][1], "the assistance seed", empty_ok=False)


def _siblings(c: Checker, keys: list[tuple[str, int]], group: str) -> None:
    seen: dict[str, int] = {}
    for key, line in keys:
        if key in seen:
            c.add(line, f"the key '{key}' is used twice among {group} (also on line {seen[key]})")
        else:
            seen[key] = line


def _common(c: Checker, f: Fields, what: str, keys: list[tuple[str, int]], slash: bool) -> str:
    """Check the fields categories and codes share; return the display name used in messages."""
    if "id" in f:
        c.ident(f["id"][1], what, slash)
    name = c.text(f["name"][1], f"the name of {what}", empty_ok=False) if "name" in f else None
    if "key" in f:
        key = c.key(f["key"][1], what)
        retired = "retired" in f and isinstance(f["retired"][1], ScalarNode) and f["retired"][1].value == "true"
        if key is not None and not retired:  # a retired node's key is free for a node in use
            keys.append((key, line_of(f["key"][1])))
    if "severity" in f:
        c.number(f["severity"][1], f"the severity of {what}", 1.0, 3.0)
    if "retired" in f and f["retired"][1].tag != BOOL:
        c.add(line_of(f["retired"][1]), f"retired in {what} should be true or false, not {_describe(f['retired'][1])}")
    return f"'{name}'" if name else what


def _category(c: Checker, node: Node, keys: list[tuple[str, int]]) -> None:
    what = f"the category on line {line_of(node)}"
    f = c.fields(node, "category", what)
    if f is None:
        return
    shown = _common(c, f, what, keys, slash=False)
    if "id" in f and isinstance(f["id"][1], ScalarNode) and f["id"][1].value == UNPLACED:
        c.add(line_of(f["id"][1]), f"the id '{UNPLACED}' is reserved for codes not yet placed under a category; "
                                   "list those under a top-level codes: instead")
    if "key" in f and isinstance(f["key"][1], ScalarNode) and f["key"][1].value == UNPLACED_KEY:
        c.add(line_of(f["key"][1]), f"the key '{UNPLACED_KEY}' of {shown} is reserved for the codes not yet "
                                    "placed under a category; use 1-9 or a letter")
    if "colour" in f:
        colour = c.text(f["colour"][1], f"the colour of {what}")
        if colour is not None and not _COLOUR.match(colour):
            c.add(line_of(f["colour"][1]), f"the colour of {what} should be written #rrggbb "
                                           f"(like '#c0392b'), not '{colour}'")
    if "description" in f:
        c.text(f["description"][1], f"the description of {what}")
    if "codes" in f:
        codes = c.items(f["codes"][1], f"the codes of {what}")
        code_keys: list[tuple[str, int]] = []
        for code in codes:
            _code(c, code, code_keys, "code")
        _siblings(c, code_keys, f"the codes of {shown}")


def _code(c: Checker, node: Node, keys: list[tuple[str, int]], kind: str) -> None:
    what = f"the {kind} on line {line_of(node)}"
    f = c.fields(node, kind, what)
    if f is None:
        return
    shown = _common(c, f, what, keys, slash=True)
    if "definition" in f:
        c.text(f["definition"][1], f"the definition of {what}", empty_ok=False)
    if "aliases" in f:
        for alias in c.items(f["aliases"][1], f"the aliases of {what}"):
            c.text(alias, f"an alias of {what}", empty_ok=False)
    if "former_ids" in f:
        for old in c.items(f["former_ids"][1], f"the former_ids of {what}"):
            c.ident(old, what, slash=True, former=True)
    if "subcodes" in f:
        sub_keys: list[tuple[str, int]] = []
        for sub in c.items(f["subcodes"][1], f"the subcodes of {what}"):
            _code(c, sub, sub_keys, "sub-code")
        _siblings(c, sub_keys, f"the sub-codes of {shown}")


def _label_value(node: Node) -> str | None:
    # Labels may be written 0 or "0"; both mean the same label.
    if isinstance(node, ScalarNode) and node.tag in (STR, INT):
        return str(_CONSTRUCT.construct_yaml_int(node)) if node.tag == INT else node.value
    return None


def _screening(c: Checker, node: Node) -> None:
    f = c.fields(node, "screening", "the screening section")
    if f is None:
        return
    if "labels" in f:
        labels = f["labels"][1]
        if not isinstance(labels, MappingNode):
            c.add(line_of(labels), f"the screening labels should be a mapping with \"0\" and \"1\", "
                                   f"not {_describe(labels)}")
        else:
            found = []
            for key, value in c.pairs(labels):
                label = _label_value(key)
                found.append(label if label is not None else key.value if isinstance(key, ScalarNode) else "?")
                lf = c.fields(value, "label", f"the screening label \"{found[-1]}\"")
                if lf and "name" in lf:
                    c.text(lf["name"][1], f"the name of screening label \"{found[-1]}\"", empty_ok=False)
                if lf and "definition" in lf:
                    c.text(lf["definition"][1], f"the definition of screening label \"{found[-1]}\"")
            if sorted(found) != ["0", "1"]:
                shown = ", ".join(f'"{k}"' for k in found) or "nothing"
                c.add(line_of(f["labels"][0]), f"the screening labels should be exactly \"0\" and \"1\", not {shown}")
    if "threshold" in f:
        c.number(f["threshold"][1], "the screening threshold", 0.0, 1.0)
    if "target_fnr" in f:  # above one half the learned screen would drop most relevant posts
        c.number(f["target_fnr"][1], "the screening target_fnr (false-negative rate)", 0.0, 0.5)
    if "prompt" in f:
        c.template(f["prompt"][1], "the screening prompt", ("post",), SCREENING_PLACEHOLDERS)
    for item in c.items(f["examples"][1], "the screening examples") if "examples" in f else []:
        what = f"the screening example on line {line_of(item)}"
        ef = c.fields(item, "example", what)
        if ef and "text" in ef:
            c.text(ef["text"][1], f"the text of {what}", empty_ok=False)
        if ef and "label" in ef and _label_value(ef["label"][1]) not in ("0", "1"):
            c.add(line_of(ef["label"][1]), f"the label of {what} should be 0 or 1, not {_describe(ef['label'][1])}")
