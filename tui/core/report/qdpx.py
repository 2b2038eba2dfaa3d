"""REFI-QDA project export (`.qdpx`): the coded posts, quotes and memos for QualCoder, ATLAS.ti, NVivo, MAXQDA.

The archive holds `project.qde` at its root and one UTF-8 text file per post under `sources/`, named
by the source's GUID (REFI-QDA 1.5, section 8). The XML is written element by element while the
events are read post by post, so memory does not grow with the number of posts: memos (which the
schema places after every source) go to a second temporary file and are copied in at the end.
Well-being data is never read here.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from tui.core.codebook.model import Code, Codebook
from tui.core.codebook.qdc import GUID_NAMESPACE, guid
from tui.core.files import atomic_write
from tui.core.project.events import MEMO, utc_time
from tui.core.project.state import PostState, derive_state
from tui.core.project.store import Store
from tui.core.report.zipstream import ZipStreamWriter
from tui.core.safe import clean

__all__ = ["NS", "SUFFIX", "QdpxExport", "QdpxExportError", "export_qdpx", "plain_text", "source_guid",
           "user_guid", "variable_guid"]

NS = "urn:QDA-XML:project:1.0"
SUFFIX = ".qdpx"
TITLE_GAP = "\n\n"
"""Between a post's title and its text in the source file: offsets count this exact string."""
# Beyond what `clean` removes, XML 1.0 cannot hold lone surrogates or U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
POST_VARIABLES = (("platform", "Text"), ("platform id", "Text"), ("posted", "DateTime"), ("crawl keyword", "Text"))
CODER_VARIABLES = ("relevant", "flagged")
"""Per coder, Boolean variables on each source: the relevance decision and the flag."""


_NS_BYTES = GUID_NAMESPACE.bytes
_code_guid = functools.lru_cache(maxsize=4096)(guid)


class QdpxExportError(Exception):
    """A project that cannot be exported as `.qdpx`, in one sentence."""


@dataclass
class QdpxExport:
    """What was written."""

    path: Path
    sources: int = 0
    codings: int = 0
    quotes: int = 0
    notes: int = 0
    users: list[str] = field(default_factory=list)
    unknown_codes: set[str] = field(default_factory=set)


def _uuid(kind: str, key: str) -> str:
    """uuid5 in qualtui's namespace (the same value as `uuid.uuid5`, without building UUID objects)."""
    h = bytearray(hashlib.sha1(_NS_BYTES + f"{kind}:{key}".encode("utf-8", "surrogatepass")).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def user_guid(project_id: str, coder: str) -> str:
    """A coder's stable GUID in this project: uuid5 of the project id and the coder name."""
    return _uuid("user", f"{project_id}\x00{coder}")


@functools.lru_cache(maxsize=4096)
def variable_guid(name: str) -> str:
    """The stable GUID of a variable by its name."""
    return _uuid("variable", name)


def source_guid(platform: str, platform_id: str) -> str:
    """A post's source GUID: kept from an imported `.qdpx`, else uuid5 of platform and platform id."""
    if platform == "qdpx":
        try:
            return str(uuid.UUID(platform_id.strip("{}")))
        except ValueError:
            pass
    return _uuid("post", f"{platform}\x00{platform_id}")


def safe(text: str, *, oneline: bool = False) -> str:
    """Untrusted text as it may appear in the archive: no control sequences, only XML 1.0 characters."""
    return _NOT_XML.sub("", clean(text, oneline=oneline))


def plain_text(title: str, text: str) -> tuple[str, int]:
    """A post's source text (title, blank line, text) and where its text starts in it."""
    head = safe(title, oneline=True) + TITLE_GAP
    return head + safe(text), len(head)


def _offset(text: str, i: int) -> int:
    """Where position `i` of the stored text lands once control characters are removed."""
    return len(safe(text[:i]))


_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\t": "&#9;"})
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


# Attributes whose values this module makes itself from GUIDs, integers and constants: nothing to escape.
_OWN = frozenset({"guid", "targetGUID", "creatingUser", "startPosition", "endPosition", "isCodable", "typeOfVariable",
                  "plainTextPath"})


def _attrs(attrs: dict[str, str] | None) -> str:
    return "".join(f' {k}="{v if k in _OWN else v.translate(_ATTR)}"' for k, v in (attrs or {}).items() if v != "")


class _Writer:
    """A small streaming XML writer: each element goes to the file as soon as it is complete.

    Every attribute value and text is escaped here (`&`, `<`, `>`, quotes; line breaks and tabs in
    attributes as character references, so they survive attribute-value normalisation).
    """

    def __init__(self, out: io.TextIOWrapper) -> None:
        self.write = out.write

    def start(self, tag: str, attrs: dict[str, str] | None = None) -> None:
        self.write(f"<{tag}{_attrs(attrs)}>")

    def end(self, tag: str) -> None:
        self.write(f"</{tag}>")

    def leaf(self, tag: str, attrs: dict[str, str] | None = None, text: str = "") -> None:
        """An element with only text (or nothing) inside."""
        body = _attrs(attrs)
        self.write(f"<{tag}{body}>{text.translate(_TEXT)}</{tag}>" if text else f"<{tag}{body}/>")


def _codebook(w: _Writer, codebook: Codebook) -> None:
    def colour(value: str) -> str:
        return value.upper() if re.fullmatch(r"#[0-9a-fA-F]{6}", value or "") else "#808080"

    def code(c: Code, col: str) -> None:
        w.start("Code", {"guid": guid(c.id), "name": safe(c.name, oneline=True), "isCodable": "true", "color": col})
        if c.definition:
            w.leaf("Description", text=safe(c.definition))
        for sub in c.subcodes:
            code(sub, col)
        w.end("Code")

    w.start("CodeBook")
    w.start("Codes")
    for cat in codebook.categories:
        col = colour(cat.colour)
        w.start("Code", {"guid": guid(cat.id), "name": safe(cat.name, oneline=True), "isCodable": "false",
                         "color": col})
        if cat.description:
            w.leaf("Description", text=safe(cat.description))
        for c in cat.codes:
            code(c, col)
        w.end("Code")
    w.end("Codes")
    w.end("CodeBook")


def _variables(w: _Writer, coders: Sequence[str]) -> None:
    w.start("Variables")
    for name, kind in POST_VARIABLES:
        w.leaf("Variable", {"guid": variable_guid(name), "name": name, "typeOfVariable": kind})
    for coder in coders:
        for what in CODER_VARIABLES:
            name = f"{what} ({safe(coder, oneline=True)})"
            w.leaf("Variable", {"guid": variable_guid(name), "name": name, "typeOfVariable": "Boolean"})
    w.end("Variables")


def _value(w: _Writer, name: str, kind: str, value: str) -> None:
    w.start("VariableValue")
    w.leaf("VariableRef", {"targetGUID": variable_guid(name)})
    w.leaf(f"{kind}Value", text=value)
    w.end("VariableValue")


def _post_groups(conn: sqlite3.Connection, coders: Sequence[str]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Each post's events by the chosen coders, one post at a time (never the whole log in memory)."""
    cols = ("id", "coder", "post_id", "kind", "code_id", "value", "ref", "at")
    marks = ", ".join("?" for _ in coders)
    cur = conn.execute(f"SELECT {', '.join(cols)} FROM events WHERE post_id IS NOT NULL AND coder IN ({marks})"
                       " ORDER BY post_id",
                       list(coders))
    rows = (dict(zip(cols, r, strict=True)) for r in cur)
    for post_id, group in groupby(rows, key=lambda r: r["post_id"]):
        yield post_id, list(group)


@dataclass
class _Post:
    """One post's row and every chosen coder's state on it."""

    row: dict[str, Any]
    states: dict[str, PostState]
    times: dict[str, str]  # event id -> time, for quotes
    memo_at: dict[str, str]


def _load_post(conn: sqlite3.Connection, post_id: int, rows: list[dict[str, Any]]) -> _Post | None:
    cur = conn.execute("SELECT platform, platform_id, label, title, text, posted_at, source_keyword"
                       " FROM posts WHERE id = ?", (post_id,))
    found = cur.fetchone()
    if found is None:
        return None
    row = dict(zip(("platform", "platform_id", "label", "title", "text", "posted_at", "keyword"), found,
                   strict=True))
    states: dict[str, PostState] = {}
    memo_at: dict[str, str] = {}
    for coder, mine in groupby(sorted(rows, key=lambda r: r["coder"]), key=lambda r: r["coder"]):
        events = list(mine)
        st = derive_state(events)
        if st.n_events:
            states[coder] = st
        memos = sorted((r["at"], r["id"]) for r in events if r["kind"] == MEMO)
        if memos:
            memo_at[coder] = memos[-1][0]
    return _Post(row, states, {r["id"]: r["at"] for r in rows}, memo_at)


def _coding(w: _Writer, key: str, code_id: str, user: str, at: str) -> None:
    w.start("Coding", {"guid": _uuid("coding", key), "creatingUser": user, "creationDateTime": at})
    w.leaf("CodeRef", {"targetGUID": _code_guid(code_id)})
    w.end("Coding")


def _source(w: _Writer, notes: _Writer, post: _Post, codebook: Codebook, users: dict[str, str],
            result: QdpxExport) -> bytes:
    """Write one TextSource (and its memos as notes); return its text file's bytes."""
    r = post.row
    sguid = source_guid(r["platform"], r["platform_id"])
    label = safe(r["label"], oneline=True)
    plain, base = plain_text(r["title"], r["text"])
    w.start("TextSource", {"guid": sguid, "name": label, "plainTextPath": f"internal://{sguid}.txt"})
    by_code: dict[str, list[tuple[str, str]]] = {}  # code id -> [(coder, time)]
    for coder, st in post.states.items():
        for raw, at in st.codes.items():
            cid = codebook.resolve(raw)
            if cid is None:
                result.unknown_codes.add(raw)
                continue
            by_code.setdefault(cid, []).append((coder, at))
    for cid, coders in by_code.items():
        node = codebook.node(cid)
        w.start("PlainTextSelection", {
            "guid": _uuid("selection", f"{sguid}\x00{cid}"), "name": safe(node.name if node else cid, oneline=True),
            "startPosition": "0", "endPosition": str(len(plain)), "creatingUser": users[coders[0][0]],
            "creationDateTime": coders[0][1]})
        for coder, at in coders:
            _coding(w, f"{sguid}\x00{cid}\x00{coder}", cid, users[coder], at)
            result.codings += 1
        w.end("PlainTextSelection")
    text = r["text"]
    for coder, st in post.states.items():
        for q in st.quotes:
            if not 0 <= q.start < q.end <= len(text):
                continue
            cid = codebook.resolve(q.code_id) if q.code_id else None
            if q.code_id and cid is None:
                result.unknown_codes.add(q.code_id)
            at = post.times.get(q.event_id, "")
            start, end = base + _offset(text, q.start), base + _offset(text, q.end)
            w.start("PlainTextSelection", {
                "guid": _uuid("quote", q.event_id), "name": safe(plain[start:end], oneline=True)[:80],
                "startPosition": str(start), "endPosition": str(end), "creatingUser": users[coder],
                "creationDateTime": at})
            if cid is not None:
                _coding(w, f"quote\x00{q.event_id}", cid, users[coder], at)
            w.end("PlainTextSelection")
            result.quotes += 1
    for coder, st in post.states.items():
        if st.memo.strip():
            nguid = _uuid("note", f"{sguid}\x00{coder}")
            w.leaf("NoteRef", {"targetGUID": nguid})
            notes.start("Note", {"guid": nguid, "name": f"Memo on {label} by {safe(coder, oneline=True)}",
                                 "creatingUser": users[coder], "creationDateTime": post.memo_at.get(coder, "")})
            notes.leaf("PlainTextContent", text=safe(st.memo))
            notes.end("Note")
            result.notes += 1
    _value(w, "platform", "Text", safe(r["platform"], oneline=True))
    _value(w, "platform id", "Text", safe(r["platform_id"], oneline=True))
    posted = utc_time(r["posted_at"] or "")
    if posted:
        _value(w, "posted", "DateTime", posted)
    if r["keyword"]:
        _value(w, "crawl keyword", "Text", safe(r["keyword"], oneline=True))
    for coder, st in post.states.items():
        who = safe(coder, oneline=True)
        if st.relevance is not None:
            _value(w, f"relevant ({who})", "Boolean", "true" if st.relevance == 1 else "false")
        if st.flagged:
            _value(w, f"flagged ({who})", "Boolean", "true")
    w.end("TextSource")
    result.sources += 1
    return plain.encode("utf-8")


def export_qdpx(store: Store, codebook: Codebook, path: str | Path, *, coders: Sequence[str] | None = None,
                relevant_only: bool = False, name: str = "qualtui project") -> QdpxExport:
    """Write the coders' decisions (all coders if none given) as a REFI-QDA `.qdpx` archive at `path`."""
    chosen = list(coders) if coders else store.coders()
    if not chosen:
        raise QdpxExportError("The project has no decisions yet, so there is nothing to export.")
    project_id = store.meta("project_id") or ""
    users = {c: user_guid(project_id, c) for c in chosen}
    result = QdpxExport(Path(path), users=chosen)
    conn = store.db.conn
    with tempfile.TemporaryDirectory(prefix="qualtui-qdpx-") as tmp:
        qde_path, notes_path = Path(tmp) / "project.qde", Path(tmp) / "notes.xml"
        with atomic_write(path, binary=True, what=".qdpx file") as fh, open(Path(tmp) / "directory", "w+b") as cd, \
                open(qde_path, "w", encoding="utf-8") as qde, open(notes_path, "w", encoding="utf-8") as nf:
            zf = ZipStreamWriter(fh, cd)
            w, notes = _Writer(qde), _Writer(nf)
            qde.write('<?xml version="1.0" encoding="utf-8"?>\n')
            w.start("Project", {"xmlns": NS, "name": safe(name, oneline=True), "origin": "qualtui",
                                "creationDateTime": utc_time(store.meta("created_at") or "") or ""})
            w.start("Users")
            for c in chosen:
                w.leaf("User", {"guid": users[c], "name": safe(c, oneline=True)})
            w.end("Users")
            _codebook(w, codebook)
            _variables(w, chosen)
            w.start("Sources")
            for post_id, rows in _post_groups(conn, chosen):
                post = _load_post(conn, post_id, rows)
                if post is None or not post.states:
                    continue
                if relevant_only and not any(st.relevance == 1 for st in post.states.values()):
                    continue
                data = _source(w, notes, post, codebook, users, result)
                sguid = source_guid(post.row["platform"], post.row["platform_id"])
                zf.add(f"sources/{sguid}.txt", data)
            if not result.sources:
                raise QdpxExportError("No post has a decision by " + ", ".join(safe(c, oneline=True) for c in chosen)
                                      + (" that judged it relevant" if relevant_only else "")
                                      + ", so there is nothing to export.")
            w.end("Sources")
            nf.close()
            if result.notes:
                w.start("Notes")
                with open(notes_path, encoding="utf-8") as src:
                    shutil.copyfileobj(src, qde)
                w.end("Notes")
            w.end("Project")
            qde.write("\n")
            qde.close()
            zf.add_file("project.qde", qde_path)
            zf.close()
    return result

