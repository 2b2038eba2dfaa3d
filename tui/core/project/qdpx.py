"""Importing a REFI-QDA project (`.qdpx`) from QualCoder, ATLAS.ti, NVivo or MAXQDA: all or nothing.

Text sources become posts (platform `qdpx`, platform id = the source's GUID); each coding becomes
its user's `code_add` event; a coding over part of a text also becomes a quote on the sentences it
covers; notes become memos; the `relevant (coder)` and `flagged (coder)` variables that qualtui
writes become relevance and flag decisions again. The file's codebook becomes the project's
codebook, unless its codes are the project's own (same GUIDs); a project that already holds
codings keeps its codebook and needs `merge`, which maps the file's codes by GUID, then by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Category, Codebook, CodebookError
from tui.core.codebook.qdc import QdcError, QNode, convert, guid
from tui.core.files import FileRefused, atomic_write, check_writable_target
from tui.core.project.events import (
    CODE_ADD,
    FLAG,
    MEMO,
    QUOTE_ADD,
    RELEVANCE,
    Event,
    coder_problem,
    utc_time,
    utcnow,
)
from tui.core.project.qdpx_read import QCode, QdpxImportError, QProject, QSource, read_qdpx
from tui.core.project.store import Store, WriteRefused, text_hash
from tui.core.safe import clean

__all__ = ["PLATFORM", "QdpxImport", "QdpxImportError", "import_qdpx"]

PLATFORM = "qdpx"
FALLBACK_CODER = "qdpx"
"""The coder of codings and notes that name no user the file knows."""
MAX_DEPTH = 3
Sentences = Callable[[str], list[tuple[int, int]]]
_CODER_VARIABLE = re.compile(r"(relevant|flagged) \((.+)\)\Z")


@dataclass
class QdpxImport:
    """What an import did."""

    posts: int = 0
    already: int = 0
    events: int = 0
    coders: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    codebook_path: Path | None = None
    codebook: Codebook | None = None


def _flat(codes: list[QCode]) -> list[QCode]:
    out = []
    for c in codes:
        out.append(c)
        out.extend(_flat(c.children))
    return out


def _qnodes(codes: list[QCode], depth: int, keep: dict[int, str], shown: str) -> list[QNode]:
    out = []
    for c in codes:
        if depth > MAX_DEPTH:
            raise QdpxImportError(f"The codebook in {shown} nests codes {depth} levels deep ({c.name}); qualtui "
                                  f"supports {MAX_DEPTH} (category › code › sub-code).")
        node = QNode(c.name, c.description, c.colour, c.codable, _qnodes(c.children, depth + 1, keep, shown))
        keep[id(node)] = c.guid
        out.append(node)
    return out


def _converted_ids(top: list[QNode], data: dict[str, Any], keep: dict[int, str]) -> dict[str, str]:
    """GUID -> new code id, walking `convert`'s output in the order it was built."""
    out: dict[str, str] = {}

    def walk(node: QNode, d: dict[str, Any]) -> None:
        out[keep[id(node)]] = d["id"]
        for child, sub in zip(node.children, d.get("subcodes") or [], strict=False):
            walk(child, sub)

    groups = [n.children for n in top if n.children] + [[n for n in top if not n.children]]
    for children, cat in zip(groups, data["categories"], strict=False):
        for node, d in zip(children, cat["codes"], strict=False):
            walk(node, d)
    return out


def _codebook_plan(q: QProject, codebook: Codebook, has_codings: bool, merge: bool, shown: str,
                   result: QdpxImport) -> tuple[dict[str, str], Codebook, str | None]:
    """(file GUID -> code id, the codebook the events use, the YAML to write if the codebook changes)."""
    own = {guid(n.id): n.id for n in codebook.nodes() if not isinstance(n, Category)}
    codable = [c for c in _flat(q.codes) if c.codable]
    if all(c.guid in own for c in codable):
        return own, codebook, None
    if merge:
        by_name: dict[str, list[str]] = {}
        for n in codebook.codes():
            by_name.setdefault(n.name.casefold(), []).append(n.id)
        mapping = dict(own)
        lost = []
        for c in codable:
            if c.guid in own:
                continue
            ids = by_name.get(c.name.casefold(), [])
            if len(ids) == 1:
                mapping[c.guid] = ids[0]
            else:
                lost.append(c.name)
        if lost:
            result.notes.append(f"{len(lost)} code(s) of the file match no code here by GUID or name; their codings "
                                f"were left out: {', '.join(lost[:5])}{' …' if len(lost) > 5 else ''}.")
        return mapping, codebook, None
    if has_codings:
        raise QdpxImportError(f"The codes in {shown} are not the project's codebook, and the project already holds "
                              "codings; import with --merge to map the file's codes onto it by GUID or name.")
    keep: dict[int, str] = {}
    top = _qnodes(q.codes, 1, keep, shown)
    try:
        data, notes = convert(top, q.origin, Path(shown).stem)
    except QdcError as exc:
        raise QdpxImportError(str(exc)) from None
    result.notes += notes
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False)
    text = clean(f"# qualtui codebook converted from {shown}", oneline=True) + "\n" + body
    try:
        new = parse_codebook(text, f"{Path(shown).stem}.yaml")
    except CodebookError as exc:
        raise QdpxImportError(f"The codebook in {shown} converts to one qualtui cannot use: {exc.problems[0]}") \
            from None
    return _converted_ids(top, data, keep), new, text


def _coder(users: dict[str, str], user: str) -> str:
    name = users.get(user, "")[:64].strip()
    if name and coder_problem(name) is None:
        return name
    return f"user-{user[:8]}" if user else FALLBACK_CODER


def _when(value: str, fallback: str) -> str:
    return utc_time(value) or fallback


def _split(src: QSource, qualtui: bool) -> tuple[str, str, int]:
    """(title, text, where the text starts in the source): qualtui's own files hold title, blank line, text."""
    if qualtui and "\n\n" in src.text:
        i = src.text.index("\n\n")
        return src.text[:i], src.text[i + 2:], i + 2
    return src.name, src.text, 0


@dataclass
class _Post:
    """Events for one source, built before anything is written."""

    events: list[Event] = field(default_factory=list)
    added: set[tuple[str, str]] = field(default_factory=set)

    def code(self, coder: str, code_id: str, at: str, cb_hash: str) -> None:
        if (coder, code_id) not in self.added:
            self.added.add((coder, code_id))
            self.events.append(Event(coder, 0, CODE_ADD, code_id=code_id, at=at, codebook_hash=cb_hash))


def _events(src: QSource, q: QProject, mapping: dict[str, str], cb_hash: str, sentences: Sentences,
            now: str, result: QdpxImport) -> tuple[str, str, list[Event]]:
    ours = q.origin.startswith("qualtui")
    title, text, base = _split(src, ours)
    post = _Post()
    unknown = 0
    for c in src.codings:
        if c.code in mapping:
            post.code(_coder(q.users, c.user), mapping[c.code], _when(c.at, now), cb_hash)
    spans = sentences(text)
    for s in src.selections:
        a, b = max(s.start - base, 0), min(s.end - base, len(text))
        whole = s.start < base or (base == 0 and s.start == 0 and s.end >= len(text) - 1)
        quote: tuple[int, int] | None = None
        if not whole and a < b and ours:
            quote = (a, b)  # qualtui's own quotes are sentence spans already: keep them exactly
        elif not whole and a < b:
            cov = [(x, y) for x, y in spans if x < b and y > a]
            quote = (cov[0][0], cov[-1][1]) if cov else (a, b)
        codings = [c for c in s.codings if c.code in mapping]
        unknown += len(s.codings) - len(codings)
        for c in codings:
            coder, at = _coder(q.users, c.user or s.user), _when(c.at or s.at, now)
            post.code(coder, mapping[c.code], at, cb_hash)
            if quote:
                value = json.dumps({"start": quote[0], "end": quote[1], "text": text[quote[0]:quote[1]]},
                                   ensure_ascii=False)
                post.events.append(Event(coder, 0, QUOTE_ADD, code_id=mapping[c.code], value=value, at=at))
        if quote and not s.codings and s.user:
            value = json.dumps({"start": quote[0], "end": quote[1], "text": text[quote[0]:quote[1]]},
                               ensure_ascii=False)
            post.events.append(Event(_coder(q.users, s.user), 0, QUOTE_ADD, value=value, at=_when(s.at, now)))
    if unknown:
        result.skipped.append(f"{src.name or src.guid}: {unknown} coding(s) with a code not in the codebook")
    memos: dict[str, list[tuple[str, str]]] = {}
    refs = src.notes + [r for s in src.selections for r in s.notes]
    for ref in dict.fromkeys(refs):
        note = q.notes.get(ref)
        if note is not None:
            memos.setdefault(_coder(q.users, note.user), []).append((_when(note.at, now), note.text))
    for coder, parts in memos.items():
        post.events.append(Event(coder, 0, MEMO, value="\n\n".join(t for _, t in parts), at=max(a for a, _ in parts)))
    for vguid, value in src.variables.items():
        m = _CODER_VARIABLE.match(q.variables.get(vguid, ""))
        if m and value.lower() in ("true", "false", "1", "0") and coder_problem(m.group(2)) is None:
            yes = value.lower() in ("true", "1")
            kind = RELEVANCE if m.group(1) == "relevant" else FLAG
            post.events.append(Event(m.group(2), 0, kind, value="1" if yes else "0", at=now, codebook_hash=cb_hash
                                     if kind == RELEVANCE else ""))
    return title, text, post.events


def _variable(src: QSource, q: QProject, name: str) -> str:
    return next((v for g, v in src.variables.items() if q.variables.get(g) == name), "")


def import_qdpx(store: Store, path: str | Path, *, codebook: Codebook, sentences: Sentences,
                codebook_out: Path | None = None, merge: bool = False) -> QdpxImport:
    """Import a `.qdpx` archive into the project in one transaction; refusals write nothing."""
    path = Path(path)
    shown = clean(path.name, oneline=True)
    q = read_qdpx(path)
    result = QdpxImport(skipped=list(q.skipped))
    conn = store.db.conn
    has_codings = conn.execute("SELECT 1 FROM events WHERE kind = ? LIMIT 1", (CODE_ADD,)).fetchone() is not None
    mapping, cb, yaml_text = _codebook_plan(q, codebook, has_codings, merge, shown, result)
    result.codebook = cb
    if yaml_text is not None:
        if codebook_out is None:
            raise QdpxImportError(f"{shown} brings its own codebook; say where to write it.")
        if codebook_out.exists():
            raise QdpxImportError(f"{clean(str(codebook_out), oneline=True)} already exists; qualtui does not "
                                  "overwrite a codebook: pass --codebook NEW.yaml to say where the imported one goes.")
        try:
            check_writable_target(codebook_out, what="codebook")
        except FileRefused as exc:
            raise QdpxImportError(str(exc)) from None
    now = utcnow()
    seen = {i for (i,) in conn.execute("SELECT platform_id FROM posts WHERE platform = ?", (PLATFORM,))}
    taken = store.existing_labels()
    planned = []
    for src in q.sources:
        if src.guid in seen:
            result.already += 1
            continue
        seen.add(src.guid)
        planned.append((src, *_events(src, q, mapping, cb.hash, sentences, now, result)))
    if not planned and not result.already:
        raise QdpxImportError(f"{shown} holds no plain-text source qualtui can import"
                              + (f" ({len(q.skipped)} skipped: {q.skipped[0]})." if q.skipped else "."))
    written = False
    try:
        with store.write() as c:
            cur = c.execute("INSERT INTO imports (path, file_sha256, format, platform, started_at, finished_at, "
                            "n_read, n_imported, n_duplicates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (shown, "", "qdpx", PLATFORM, now, now,
                             len(q.sources), len(planned), result.already))
            import_id = cur.lastrowid
            for src, title, text, events in planned:
                posted = utc_time(_variable(src, q, "posted")) if _variable(src, q, "posted") else None
                keyword = _variable(src, q, "crawl keyword")
                cur = c.execute("INSERT INTO posts (platform, platform_id, label, title, text, posted_at, "
                                "source_keyword, text_hash, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (PLATFORM, src.guid, Store.new_label(taken), title, text, posted, keyword,
                                 text_hash(title, text), import_id))
                post_id = cur.lastrowid
                c.executemany("INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash)"
                              " VALUES (:id, :coder, :post_id, :kind, :code_id, :value, :ref, :at, :codebook_hash)",
                              [{**e.row(), "post_id": post_id} for e in events])
                result.posts += 1
                result.events += len(events)
                for e in events:
                    result.coders[e.coder] = result.coders.get(e.coder, 0) + 1
            if yaml_text is not None and codebook_out is not None:
                # Last inside the transaction: a codebook that cannot be written rolls the import back.
                with atomic_write(codebook_out, what="codebook") as fh:
                    fh.write(yaml_text)
                written = True
                result.codebook_path = codebook_out
    except (WriteRefused, FileRefused, OSError) as exc:
        if written and codebook_out is not None:
            codebook_out.unlink(missing_ok=True)
        raise QdpxImportError(str(exc)) from None
    return result
