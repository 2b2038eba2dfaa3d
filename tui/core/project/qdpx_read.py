"""Reading a REFI-QDA project archive (`.qdpx`) from another tool, as untrusted input.

Everything is checked before anything is written: the archive's size, each member's name (no
`../`, no absolute paths), each member's size and compression ratio (a zip bomb is refused, not
inflated), and the XML (a DOCTYPE or entity declaration is refused before parsing). The result is
plain data; `tui.core.project.qdpx` turns it into posts and events.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tui.core.files import FileRefused, check_readable
from tui.core.safe import clean
from tui.core.xmlcheck import DECLARES_ENTITIES, UNKNOWN_ENCODING, xml_problem

__all__ = ["MAX_ARCHIVE_BYTES", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "QCode", "QCoding",
           "QNote", "QProject", "QSelection", "QSource", "QdpxImportError", "read_qdpx"]

MiB = 1024 * 1024
MAX_ARCHIVE_BYTES = 1024 * MiB
"""The largest `.qdpx` file qualtui opens."""
MAX_MEMBER_BYTES = 64 * MiB
"""The largest `project.qde` or source text inside it, once inflated."""
MAX_TOTAL_BYTES = 2048 * MiB
"""All the members qualtui reads, once inflated."""
MAX_RATIO = 200
"""The highest inflated/compressed ratio of a member over 1 MiB (text compresses ~3-10x; bombs 1000x)."""
MAX_MEMBERS = 200_000


class QdpxImportError(Exception):
    """A `.qdpx` file qualtui refuses or cannot use, in one sentence; nothing was written."""


@dataclass
class QCode:
    """One `<Code>` of the file's codebook, with its GUID."""

    guid: str
    name: str
    description: str
    colour: str
    codable: bool
    children: list[QCode] = field(default_factory=list)


@dataclass
class QCoding:
    """One `<Coding>`: which code, by whom, when."""

    code: str
    user: str
    at: str


@dataclass
class QSelection:
    """One `<PlainTextSelection>` (positions are code points into the source text, end exclusive)."""

    start: int
    end: int
    user: str
    at: str
    codings: list[QCoding]
    notes: list[str]


@dataclass
class QSource:
    """One `<TextSource>` with its text read from the archive."""

    guid: str
    name: str
    text: str
    selections: list[QSelection]
    codings: list[QCoding]
    notes: list[str]
    variables: dict[str, str]  # variable GUID -> value as written


@dataclass
class QNote:
    """One `<Note>`: a memo's text and author."""

    user: str
    at: str
    text: str


@dataclass
class QProject:
    """Everything qualtui takes from a `.qdpx` file."""

    origin: str
    users: dict[str, str]
    codes: list[QCode]
    variables: dict[str, str]  # GUID -> name
    sources: list[QSource]
    notes: dict[str, QNote]
    skipped: list[str]  # one line per source that was not imported (external, not text)


def norm_guid(value: str | None) -> str:
    """A GUID in one spelling (lower case, no braces), or "" if `value` is not one."""
    try:
        return str(uuid.UUID((value or "").strip().strip("{}")))
    except ValueError:
        return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _first(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _section(root: ET.Element, name: str, child: str | None = None) -> list[ET.Element]:
    """The children (named `child`, or all) of the section `name`; none if the section is missing."""
    sec = _first(root, name)
    if sec is None:
        return []
    return list(sec) if child is None else _kids(sec, child)


def _check_names(infos: list[zipfile.ZipInfo], shown: str) -> None:
    if len(infos) > MAX_MEMBERS:
        raise QdpxImportError(f"{shown} holds {len(infos):,} files; a .qdpx may hold at most {MAX_MEMBERS:,}.")
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or "\x00" in name or (len(name) > 1 and name[1] == ":"):
            raise QdpxImportError(f"{shown} holds a file named {clean(name, oneline=True)!r} that points outside "
                                  "the archive; qualtui refuses such files.")
        total += info.file_size
        big = info.file_size > MiB
        if big and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise QdpxImportError(f"{shown} looks like a zip bomb: {clean(name, oneline=True)} would inflate "
                                  f"{info.file_size // max(info.compress_size, 1):,} times; qualtui refuses it.")
    if total > MAX_TOTAL_BYTES:
        raise QdpxImportError(f"{shown} would inflate to {total // MiB:,} MiB, over the {MAX_TOTAL_BYTES // MiB:,} "
                              "MiB qualtui reads from a .qdpx file.")


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise QdpxImportError(f"{clean(info.filename, oneline=True)} in {shown} is {info.file_size // MiB:,} MiB, "
                              f"over the {MAX_MEMBER_BYTES // MiB} MiB limit for one file in a .qdpx.")
    try:
        with zf.open(info) as fh:
            # The declared size may lie: never inflate more than the limit allows.
            data = fh.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        reason = clean(str(exc), oneline=True)
        raise QdpxImportError(f"{clean(info.filename, oneline=True)} in {shown} cannot be read ({reason}); "
                              "the archive is damaged or encrypted.") from None
    if len(data) > MAX_MEMBER_BYTES or len(data) > MAX_RATIO * max(info.compress_size, 1) + MiB:
        raise QdpxImportError(f"{clean(info.filename, oneline=True)} in {shown} inflates beyond its declared "
                              "size; qualtui refuses it as a zip bomb.")
    return data


def _refuse_declarations(raw: bytes, shown: str) -> None:
    """One expat pass refusing any DOCTYPE or entity (XML bombs, external entities) before real parsing."""
    problem = xml_problem(raw)
    if problem == DECLARES_ENTITIES:
        raise QdpxImportError(f"project.qde in {shown} {problem}; qualtui refuses those "
                              "(they can expand without limit or read other files).")
    if problem == UNKNOWN_ENCODING:
        raise QdpxImportError(f"project.qde in {shown} {problem}; REFI-QDA files are UTF-8.")
    if problem is not None:
        raise QdpxImportError(f"project.qde in {shown} {problem}.")


def _codes(el: ET.Element, depth: int) -> list[QCode]:
    out = []
    for c in _kids(el, "Code"):
        desc = _first(c, "Description")
        out.append(QCode(norm_guid(c.get("guid")), clean(c.get("name") or "", oneline=True) or "Unnamed code",
                         clean(desc.text or "" if desc is not None else "", oneline=True), c.get("color") or "",
                         c.get("isCodable", "true") != "false", _codes(c, depth + 1) if depth < 8 else []))
    return out


def _codings(el: ET.Element) -> list[QCoding]:
    out = []
    for c in _kids(el, "Coding"):
        ref = _first(c, "CodeRef")
        code = norm_guid(ref.get("targetGUID") if ref is not None else "")
        if code:
            out.append(QCoding(code, norm_guid(c.get("creatingUser")), c.get("creationDateTime") or ""))
    return out


def _refs(el: ET.Element) -> list[str]:
    return [g for g in (norm_guid(n.get("targetGUID")) for n in _kids(el, "NoteRef")) if g]


def _position(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return -1


def _text(raw: bytes, what: str, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise QdpxImportError(f"{what} in {shown} is not UTF-8 text, as REFI-QDA requires.") from None


def _source(el: ET.Element, zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], shown: str,
            skipped: list[str]) -> QSource | None:
    name = clean(el.get("name") or "", oneline=True)
    sguid = norm_guid(el.get("guid"))
    path = el.get("plainTextPath") or ""
    inline = _first(el, "PlainTextContent")
    if not sguid:
        skipped.append(f"{name or 'a source'}: no valid GUID")
        return None
    if inline is not None and not path:
        text = inline.text or ""
    elif path.startswith("internal://"):
        member = "sources/" + path[len("internal://"):]
        # GUIDs are case-insensitive, and tools differ in the case of the file names they write.
        info = members.get(member) or members.get(member.lower())
        if info is None:
            raise QdpxImportError(f"{shown} names the source {name or sguid} at {clean(path, oneline=True)}, "
                                  "but the archive does not hold that file.")
        text = _text(_member(zf, info, shown), clean(member, oneline=True), shown)
    else:
        where = path or el.get("richTextPath") or "no path"
        skipped.append(f"{name or sguid}: external ({clean(where, oneline=True)})")
        return None
    selections = []
    for s in _kids(el, "PlainTextSelection"):
        start, end = _position(s.get("startPosition")), _position(s.get("endPosition"))
        if 0 <= start < end:
            selections.append(QSelection(start, end, norm_guid(s.get("creatingUser")),
                                         s.get("creationDateTime") or "", _codings(s), _refs(s)))
    variables = {}
    for v in _kids(el, "VariableValue"):
        ref = _first(v, "VariableRef")
        value = next((c.text or "" for c in v if _local(c.tag).endswith("Value")), "")
        if ref is not None and norm_guid(ref.get("targetGUID")):
            variables[norm_guid(ref.get("targetGUID"))] = value.strip()
    return QSource(sguid, name, text, selections, _codings(el), _refs(el), variables)


def read_qdpx(path: str | Path) -> QProject:
    """Read and check a `.qdpx` archive; any refusal is a `QdpxImportError` with one sentence."""
    path = Path(path)
    shown = clean(path.name, oneline=True)
    try:
        check_readable(path, what=".qdpx file", max_bytes=MAX_ARCHIVE_BYTES)
    except FileRefused as exc:
        raise QdpxImportError(str(exc)) from None
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise QdpxImportError(f"{shown} is not a zip archive, so not a REFI-QDA .qdpx project.") from None
    with zf:
        infos = zf.infolist()
        _check_names(infos, shown)
        members = {i.filename: i for i in infos}
        members.update({i.filename.lower(): i for i in infos if i.filename.lower() not in members})
        qde = members.get("project.qde") or next((i for i in infos if i.filename.lower().endswith(".qde")
                                                   and "/" not in i.filename), None)
        if qde is None:
            raise QdpxImportError(f"{shown} holds no project.qde at its root, so it is not a REFI-QDA project.")
        raw = _member(zf, qde, shown)
        _refuse_declarations(raw, shown)
        root = ET.fromstring(raw)
        if _local(root.tag) != "Project":
            raise QdpxImportError(f"project.qde in {shown} is not a REFI-QDA project (its root is "
                                  f"<{clean(_local(root.tag), oneline=True)}>).")
        users: dict[str, str] = {}
        for u in _section(root, "Users", "User"):
            g = norm_guid(u.get("guid"))
            if g:
                users[g] = clean(u.get("name") or u.get("id") or "", oneline=True)
        book = _first(root, "CodeBook")
        codes_el = _first(book, "Codes") if book is not None else None
        codes = _codes(codes_el, 1) if codes_el is not None else []
        variables = {norm_guid(v.get("guid")): clean(v.get("name") or "", oneline=True)
                     for v in _section(root, "Variables", "Variable")}
        skipped: list[str] = []
        sources = []
        for el in _section(root, "Sources"):
            if _local(el.tag) != "TextSource":
                skipped.append(f"{clean(el.get('name') or '', oneline=True) or 'a source'}: "
                               f"{clean(_local(el.tag), oneline=True)}, not plain text")
                continue
            src = _source(el, zf, members, shown, skipped)
            if src is not None:
                sources.append(src)
        notes = {}
        for n in _section(root, "Notes", "Note"):
            content = _first(n, "PlainTextContent")
            g = norm_guid(n.get("guid"))
            if g and content is not None and (content.text or "").strip():
                notes[g] = QNote(norm_guid(n.get("creatingUser")), n.get("creationDateTime") or "",
                                 content.text or "")
    return QProject(clean(root.get("origin") or "", oneline=True), users, codes, variables, sources, notes,
                    skipped)
