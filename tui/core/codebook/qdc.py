"""REFI-QDA codebook exchange (`.qdc`): export a qualtui codebook, import one from another QDA tool.

Export: categories become non-codable codes; codes and sub-codes nest under them with their
definitions in `<Description>`; GUIDs are uuid5 of the node id, so the same codebook always gives
the same bytes. Import: the reverse, into qualtui's YAML, checked by the codebook loader.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Code, Codebook, CodebookError
from tui.core.files import MAX_CODEBOOK_BYTES, FileRefused, read_bytes
from tui.core.safe import clean
from tui.core.xmlcheck import DECLARES_ENTITIES, UNKNOWN_ENCODING, xml_problem

__all__ = ["GUID_NAMESPACE", "NS", "QdcError", "Imported", "export_qdc", "guid", "import_qdc", "parse_qdc"]

NS = "urn:QDA-XML:codebook:1.0"
GUID_NAMESPACE = uuid.UUID("6f1c1f2e-8a3b-5d7e-9c41-0b2a7e5d3c10")
"""Fixed namespace for uuid5 GUIDs: never change it, or exported GUIDs stop matching earlier files."""
MAX_BYTES = MAX_CODEBOOK_BYTES
MAX_DEPTH = 3
TOP_KEYS = "1234567890"
LOWER_KEYS = "abcdefghijklmnoprstvwy"  # a–z without q, u, x, z, which the code picker reserves
FALLBACK_KEYS = "ABCDEFGHIJKLMNOPRSTVWY"
PALETTE = ("#c2690a", "#2e86c1", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d", "#1f618d", "#27ae60")
NO_DEFINITION = "No definition was given in the imported codebook."


class QdcError(Exception):
    """A `.qdc` file that cannot be read or converted, in one sentence."""


def guid(node_id: str) -> str:
    """The stable GUID of a codebook node: uuid5 of its id in qualtui's fixed namespace."""
    return str(uuid.uuid5(GUID_NAMESPACE, node_id))


def _colour(value: str) -> str:
    return value.upper() if re.fullmatch(r"#[0-9a-fA-F]{6}", value or "") else "#808080"


def _code_el(parent: ET.Element, code: Code, colour: str) -> None:
    # Names and definitions are cleaned: XML 1.0 cannot hold control characters, and no output file may.
    el = ET.SubElement(parent, "Code", {"guid": guid(code.id), "name": clean(code.name, oneline=True),
                                        "isCodable": "true", "color": colour})
    if code.definition:
        ET.SubElement(el, "Description").text = clean(code.definition)
    for sub in code.subcodes:
        _code_el(el, sub, colour)


def export_qdc(codebook: Codebook) -> str:
    """The codebook as a REFI-QDA `.qdc` document (UTF-8 text), identical for an identical codebook."""
    origin = clean(f"qualtui; {codebook.name} {codebook.version}", oneline=True)
    root = ET.Element("CodeBook", {"xmlns": NS, "origin": origin})
    codes = ET.SubElement(root, "Codes")
    for cat in codebook.categories:
        colour = _colour(cat.colour)
        el = ET.SubElement(codes, "Code", {"guid": guid(cat.id), "name": clean(cat.name, oneline=True),
                                           "isCodable": "false", "color": colour})
        if cat.description:
            ET.SubElement(el, "Description").text = clean(cat.description)
        for code in cat.codes:
            _code_el(el, code, colour)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------- import


@dataclass
class QNode:
    """One `<Code>` read from a `.qdc` file."""

    name: str
    description: str
    colour: str
    codable: bool
    children: list[QNode] = field(default_factory=list)


@dataclass
class Imported:
    """A converted codebook: the YAML text, the loaded codebook, and notes on what changed."""

    yaml_text: str
    codebook: Codebook
    notes: list[str]


def _refuse_declarations(raw: bytes, name: str) -> None:
    """Refuse a DOCTYPE or entity declaration (XML bombs, external entities) and XML that is not well-formed."""
    problem = xml_problem(raw)
    if problem == DECLARES_ENTITIES:
        raise QdcError(f"{name} {problem}; qualtui refuses those in .qdc files "
                       "(they can expand without limit or read other files).")
    if problem == UNKNOWN_ENCODING:
        raise QdcError(f"{name} {problem}; a REFI-QDA .qdc file is UTF-8.")
    if problem is not None:
        raise QdcError(f"{name} {problem}; is it really a REFI-QDA .qdc file?")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read(el: ET.Element, depth: int, trail: list[str], name: str) -> QNode:
    # Names from another tool are untrusted: no control sequences reach the YAML or a terminal.
    title = clean(el.get("name") or "", oneline=True) or "Unnamed code"
    here = trail + [title]
    if depth > MAX_DEPTH:
        raise QdcError(f"{name} nests codes {depth} levels deep ({' › '.join(here)}); qualtui supports "
                       f"{MAX_DEPTH} (category › code › sub-code). Flatten the tree in your QDA tool first.")
    desc = next((c.text or "" for c in el if _local(c.tag) == "Description"), "")
    node = QNode(title, clean(desc, oneline=True), el.get("color") or "", el.get("isCodable", "true") != "false")
    node.children = [_read(c, depth + 1, here, name) for c in el if _local(c.tag) == "Code"]
    return node


def parse_qdc(raw: bytes, name: str = "the file") -> tuple[str, list[QNode]]:
    """The origin and the top-level codes of a `.qdc` document (or a REFI-QDA project's codebook)."""
    if len(raw) > MAX_BYTES:
        raise QdcError(f"{name} is {len(raw):,} bytes; a .qdc codebook may be at most {MAX_BYTES:,} bytes.")
    if not raw.strip():
        raise QdcError(f"{name} is empty.")
    _refuse_declarations(raw, name)
    root = ET.fromstring(raw)
    book = root if _local(root.tag) == "CodeBook" else next(
        (e for e in root.iter() if _local(e.tag) == "CodeBook"), None)
    if book is None:
        raise QdcError(f"{name} is XML but not a REFI-QDA codebook (its root is <{_local(root.tag)}>, "
                       "not <CodeBook>).")
    codes = next((c for c in book if _local(c.tag) == "Codes"), None)
    if codes is None or not any(_local(c.tag) == "Code" for c in codes):
        raise QdcError(f"{name} has no <Codes> with at least one <Code>; there is nothing to import.")
    top = [_read(c, 1, [], name) for c in codes if _local(c.tag) == "Code"]
    return clean(book.get("origin", ""), oneline=True), top


def slugify(name: str, fallback: str) -> str:
    """A lowercase ASCII slug of a name ([a-z0-9-], at most 40 characters), or `fallback` if none."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:40].strip("-")
    return slug or fallback


def _unique(slug: str, taken: set[str]) -> str:
    out, n = slug, 2
    while out in taken:
        out, n = f"{slug}-{n}", n + 1
    taken.add(out)
    return out


def _keys(names: list[str], pool: str, what: str) -> list[str]:
    """One key per sibling: the first free letter of its name if it is in the pool, else the next free."""
    free = list(pool + FALLBACK_KEYS)
    if len(names) > len(free):
        raise QdcError(f"{what} has {len(names)} entries; qualtui gives each a one-key shortcut and can "
                       f"key at most {len(free)} siblings.")
    out = []
    for n in names:
        pick = next((ch for ch in n.lower() if ch in free and pool == LOWER_KEYS), None) or free[0]
        free.remove(pick)
        out.append(pick)
    return out


def _code_dict(node: QNode, parent: str, key: str, taken: set[str], index: int) -> dict[str, Any]:
    cid = _unique(f"{parent}/{slugify(node.name, f'code-{index}')}", taken)
    d: dict[str, Any] = {"id": cid, "name": node.name, "key": key, "definition": node.description or NO_DEFINITION}
    if node.children:
        keys = _keys([c.name for c in node.children], LOWER_KEYS, f"the code '{node.name}'")
        pairs = zip(node.children, keys, strict=False)
        d["subcodes"] = [_code_dict(c, cid, k, taken, i) for i, (c, k) in enumerate(pairs, 1)]
    return d


def _expand(colour: str) -> str | None:
    if re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        return colour.lower()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", colour):
        return "#" + "".join(c * 2 for c in colour[1:]).lower()
    return None


def convert(top: list[QNode], origin: str, name: str) -> tuple[dict[str, Any], list[str]]:
    """Plain codebook data from the `.qdc` tree: top-level codes become categories."""
    notes: list[str] = []
    grouped = [n for n in top if n.children]
    loose = [n for n in top if not n.children]
    if loose:
        grouped.append(QNode("Uncategorised codes", "Top-level codes of the imported codebook that had no "
                                                    "sub-codes.", "", False, loose))
        notes.append(f"{len(loose)} top-level code(s) without children were put in the category "
                     "'Uncategorised codes'.")
    codable = [n.name for n in grouped if n.codable and n.name != "Uncategorised codes"]
    if codable:
        notes.append(f"{len(codable)} codable top-level code(s) became categories, which qualtui does not "
                     f"code directly: {', '.join(codable[:5])}{' …' if len(codable) > 5 else ''}.")
    ids: set[str] = set()
    cat_keys = _keys([g.name for g in grouped], TOP_KEYS, "the top level")
    cats = []
    for i, (g, key) in enumerate(zip(grouped, cat_keys, strict=False), 1):
        cid = _unique(slugify(g.name, f"category-{i}"), ids)
        code_keys = _keys([c.name for c in g.children], LOWER_KEYS, f"the category '{g.name}'")
        cat: dict[str, Any] = {"id": cid, "name": g.name, "key": key,
                               "colour": _expand(g.colour) or PALETTE[(i - 1) % len(PALETTE)]}
        if g.description:
            cat["description"] = g.description
        pairs = zip(g.children, code_keys, strict=False)
        cat["codes"] = [_code_dict(c, cid, k, ids, j) for j, (c, k) in enumerate(pairs, 1)]
        cats.append(cat)
    missing = sum(1 for c in _all(top) if not c.description)
    if missing:
        notes.append(f"{missing} code(s) had no description; their definition says so.")
    return {"version": "1.0.0", "name": name, "description": "Imported from a REFI-QDA codebook"
            + (f" (origin: {origin})." if origin else "."), "categories": cats}, notes


def _all(nodes: list[QNode]) -> list[QNode]:
    out = []
    for n in nodes:
        out.append(n)
        out.extend(_all(n.children))
    return out


def import_qdc(path: str | Path, name: str | None = None) -> Imported:
    """Convert a `.qdc` file to qualtui YAML and load it with the codebook loader (all or nothing)."""
    path = Path(path)
    try:
        # Regular files only, size checked before reading: a FIFO or /dev/zero is refused, not read.
        raw = read_bytes(path, what=".qdc codebook", max_bytes=MAX_BYTES)
    except FileRefused as exc:
        raise QdcError(str(exc)) from None
    origin, top = parse_qdc(raw, clean(path.name, oneline=True))
    data, notes = convert(top, origin, name or path.stem)
    header = clean(f"# qualtui codebook converted from {path.name}" + (f" (origin: {origin})" if origin else ""),
                   oneline=True)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False)
    text = " ".join(header.split()) + "\n" + body
    try:
        codebook = parse_codebook(text, f"{path.stem}.yaml")
    except CodebookError as exc:
        raise QdcError(f"{path.name} converts to a codebook qualtui cannot use: {exc.problems[0]}") from None
    return Imported(text, codebook, notes)
