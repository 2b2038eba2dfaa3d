"""Merging exchange files into a project: a union of events by id, all files in one transaction, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core.codebook.changes import Applied
from tui.core.codebook.model import Codebook
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.events import CODEBOOK_KINDS, CONSENSUS, MAX_CODER_CHARS, coder_problem, utcnow
from tui.core.project.store import Store, text_hash
from tui.core.safe import clean
from tui.core.sync.exchange import CODE_KINDS, FORMAT, ExportFile, SyncError
from tui.core.sync.exchange_read import read_export
from tui.core.wellbeing.storage import insert_merged, merged_rows

NOTHING = "Nothing was merged."


@dataclass
class MergeReport:
    """What `merge_files` did (or, with nothing new, found already there)."""

    files: list[str] = field(default_factory=list)
    read: int = 0
    added: int = 0
    already: int = 0
    posts_added: int = 0
    wellbeing_added: int = 0
    coders: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    codebook_changes: int = 0
    skipped: list[str] = field(default_factory=list)
    """The codebook changes the fold skips since this merge (each one line: whose, what, and why)."""

    @property
    def changed(self) -> bool:
        """True when the merge wrote anything."""
        return bool(self.added or self.posts_added or self.wellbeing_added)


def _refuse(message: str) -> SyncError:
    return SyncError(f"{message} {NOTHING}")


def merge_files(store: Store, paths: Sequence[str | os.PathLike[str]], *,
                resolve: Callable[[str], str | None], codebook_hash: str,
                rename: str | None = None, file_codebook: Codebook | None = None) -> MergeReport:
    """Merge exchange files into the project in one transaction; refuse (writing nothing) on any problem.

    `resolve` maps a code id (or former id) to its current id, None if the codebook does not know it.
    `rename` gives the coder of the (single) file another name here. With `file_codebook` (the codebook
    file's), codes are resolved in the effective codebook after the merge, and the report names the
    codebook changes the fold skips that it did not skip before.
    """
    if not paths:
        raise SyncError("No file to merge.")
    files: list[ExportFile] = []
    for p in paths:
        try:
            files.append(read_export(p))
        except SyncError as exc:
            raise _refuse(str(exc)) from None
    if rename is not None:
        rename = rename.strip()
        if len(files) != 1:
            raise _refuse("--as renames the coder of one file; merge the files one at a time to rename.")
        if not rename or (rename == CONSENSUS != files[0].coder):
            raise _refuse(f"--as needs a coder name other than {CONSENSUS!r}.")
        problem = coder_problem(rename)
        if problem:
            raise _refuse(f"--as cannot be used: {problem} (at most {MAX_CODER_CHARS} characters, no line breaks "
                          "or control characters).")
    own = store.meta("project_id") or ""
    report = MergeReport(files=[_shown(f) for f in files])
    _check_coders(store, files, own, rename)
    _check_no_post_refs(store, files)
    rows, new_posts = _plan_events(store, files, own, rename, report)
    wb_rows = _plan_wellbeing(store, files, rename)
    report.wellbeing_added, report.posts_added = len(wb_rows), len(new_posts)
    if not rows and not wb_rows and not new_posts:
        _warn_codebook(files, resolve, codebook_hash, report)
        return report
    conn = store.db.conn
    # Undo and redo may take back a codebook change too: the fold is compared whenever one comes in.
    refold = file_codebook is not None and any(r[3] in CODEBOOK_KINDS or r[3] in ("undo", "redo") for r in rows)
    before = _skipped(store, file_codebook) if file_codebook is not None and refold else {}
    with conn:
        if new_posts:
            _insert_posts(store, new_posts, rows)
        conn.executemany(
            "INSERT INTO events (id, coder, post_id, kind, code_id, value, ref, at, codebook_hash, origin, arm)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        insert_merged(store, wb_rows)
    if file_codebook is not None and refold:
        after = _skipped(store, file_codebook)
        report.skipped = [_skip_line(a) for cid, a in after.items() if cid not in before]
        resolve = effective_codebook(conn, file_codebook)[0].resolve  # the codes the files created are known now
    _warn_codebook(files, resolve, codebook_hash, report)
    return report


def _skipped(store: Store, file_codebook: Codebook) -> dict[str, Applied]:
    """The codebook changes the fold skips in the project as it is, by event id."""
    return {a.change.id: a for a in effective_codebook(store.db.conn, file_codebook)[1] if a.problem}


def _skip_line(a: Applied) -> str:
    """One line for a skipped change: whose, which kind on which code, when, and why (all cleaned)."""
    ch = a.change
    return clean(f"{ch.coder}'s {ch.kind} of {ch.code_id!r} at {ch.at}: {a.problem}", oneline=True)


def _shown(f: ExportFile) -> str:
    """A file's name as it may appear in a message: on one line, without control sequences."""
    return clean(f.path.name, oneline=True)


def _origin(ev: dict[str, Any], f: ExportFile, own: str) -> str:
    origin = ev["origin"] or f.origin
    return "local" if origin == own else origin


def _check_coders(store: Store, files: list[ExportFile], own: str, rename: str | None) -> None:
    """Refuse when one coder name would hold events from two different projects."""
    incoming: dict[str, dict[str, str]] = {}  # coder -> origin -> first file that brings it
    for f in files:
        by_origin = incoming.setdefault(rename or f.coder, {})
        for origin in {ev["origin"] or f.origin for ev in f.events}:
            by_origin.setdefault("local" if origin == own else origin, _shown(f))
    for coder, origins in incoming.items():
        here = {r[0] for r in store.db.conn.execute("SELECT DISTINCT origin FROM events WHERE coder = ?", (coder,))}
        if len(set(origins) | here) <= 1:
            continue
        name = next(iter(origins.values()))
        if len(origins) > 1:
            raise _refuse(f"The files bring coder {coder!r} from {len(origins)} different projects; "
                          "merge them one at a time, renaming one with --as NAME.")
        where = "coded in this project" if here == {"local"} else "merged from another project"
        raise _refuse(f"{name}: coder {coder!r} already has events here that were {where}, and this file's "
                      f"{coder!r} comes from another project; if they are different people, merge with --as NAME.")


def _check_no_post_refs(store: Store, files: list[ExportFile]) -> None:
    """Refuse an undo or redo made on no post unless it takes back a codebook change (in a file or here)."""
    refs = set().union(*(f.outside_refs for f in files)) - set().union(*(f.codebook_changes for f in files))
    if not refs:
        return
    known: set[str] = set()
    wanted, kinds = sorted(refs), sorted(CODEBOOK_KINDS)
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        known.update(r[0] for r in store.db.conn.execute(
            f"SELECT id FROM events WHERE id IN ({','.join('?' * len(chunk))}) AND kind IN "
            f"({','.join('?' * len(kinds))})", [*chunk, *kinds]))
    missing = sorted(refs - known)
    if missing:
        name = next(_shown(f) for f in files if f.outside_refs & set(missing))
        raise _refuse(f"{name} has an undo or redo made on no post that takes back event {missing[0][:40]}, which is "
                      "no codebook change in the file or in this project; merge the file with that change first.")


def _plan_events(store: Store, files: list[ExportFile], own: str, rename: str | None,
                 report: MergeReport) -> tuple[list[list[Any]], dict[tuple[str, str], dict[str, Any]]]:
    """The event rows to insert (new ids only) and the posts the files bring in."""
    conn = store.db.conn
    posts = {(pl, pi): (pid, th) for pl, pi, pid, th in conn.execute(
        "SELECT platform, platform_id, id, text_hash FROM posts")}
    new_posts: dict[tuple[str, str], dict[str, Any]] = {}
    missing: dict[tuple[str, str], str] = {}
    changed_text: set[tuple[str, str]] = set()
    rows: list[list[Any]] = []
    planned: dict[str, tuple[Any, ...]] = {}
    for f in files:
        coder = rename or f.coder
        existing = _existing(store, [ev["id"] for ev in f.events])
        for ev in f.events:
            report.read += 1
            key = (ev["platform"], ev["platform_id"])
            content = (coder, ev["kind"], ev["code_id"], ev["value"], ev["ref"], ev["at"])
            have = existing.get(ev["id"]) or planned.get(ev["id"])
            if have is not None:
                if have != content:
                    raise _refuse(f"{_shown(f)}: event {ev['id'][:40]} is already in this project with different "
                                  f"content (coder {have[0]!r}); the file was edited or renamed differently before.")
                report.already += 1
                continue
            local = posts.get(key)
            if not ev["platform"]:
                pass  # a codebook change made on no post (the reader allows no other kind): merged with no post
            elif local is None:
                if key in f.posts:
                    new_posts.setdefault(key, f.posts[key])
                else:
                    missing.setdefault(key, _shown(f))
                    continue
            elif ev["text_hash"] and local[1] != ev["text_hash"]:
                changed_text.add(key)
            planned[ev["id"]] = content
            # A new post's key becomes its id once inserted; a change made on no post stays on none.
            post: Any = None if not ev["platform"] else local[0] if local else key
            rows.append([ev["id"], coder, post, ev["kind"], ev["code_id"], ev["value"], ev["ref"], ev["at"],
                         ev["codebook_hash"], _origin(ev, f, own), ev.get("arm", "")])
            report.coders[coder] = report.coders.get(coder, 0) + 1
            if ev["kind"] in CODEBOOK_KINDS:
                report.codebook_changes += 1
    if missing:
        (platform, platform_id), name = next(iter(missing.items()))
        example = f"{clean(platform[:20], oneline=True)} {clean(platform_id[:40], oneline=True)}"
        raise _refuse(f"{name} has events for {len(missing)} posts this project does not have (e.g. {example}); "
                      "import the same posts first, or ask for an export made with --with-text.")
    if changed_text:
        report.warnings.append(f"{len(changed_text)} posts have different text here than in the exporting project "
                               "(edited or re-crawled); their events were matched by platform id.")
    report.added = len(rows)
    return rows, new_posts


def _existing(store: Store, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """The events already in the project among `ids`, as (coder, kind, code_id, value, ref, at)."""
    found: dict[str, tuple[Any, ...]] = {}
    conn = store.db.conn
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        for eid, *content in conn.execute(
            f"SELECT id, coder, kind, code_id, value, ref, at FROM events WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            found[eid] = tuple(content)
    return found


def _insert_posts(store: Store, new_posts: dict[tuple[str, str], dict[str, Any]], rows: list[list[Any]]) -> None:
    """Insert posts brought by --with-text files, with fresh local labels, and point their events at them."""
    conn = store.db.conn
    taken = store.existing_labels()
    cur = conn.execute("INSERT INTO imports (path, format, platform, started_at, finished_at, n_read, n_imported)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ("(merged exchange files)", FORMAT, "", utcnow(), utcnow(), len(new_posts), len(new_posts)))
    import_id = cur.lastrowid
    ids: dict[tuple[str, str], int] = {}
    for key, p in new_posts.items():
        cur = conn.execute(
            "INSERT INTO posts (platform, platform_id, label, title, text, tags, posted_at, url, source_keyword,"
            " text_hash, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key[0], key[1], Store.new_label(taken), p["title"], p["text"], json.dumps(p["tags"], ensure_ascii=False),
             p.get("posted_at"), p["url"], p["keyword"], text_hash(p["title"], p["text"]), import_id))
        assert cur.lastrowid is not None  # always set after an INSERT; for the type checker
        ids[key] = cur.lastrowid
    for row in rows:
        if isinstance(row[2], tuple):
            row[2] = ids[row[2]]


def _plan_wellbeing(store: Store, files: list[ExportFile], rename: str | None) -> list[tuple[str, dict[str, Any]]]:
    """Well-being rows (present only when the coder opted in at export) not yet in the project."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[Any, ...]] = set()
    for f in files:
        out += merged_rows(store, rename or f.coder, f.wellbeing, seen)
    return out


def _warn_codebook(files: list[ExportFile], resolve: Callable[[str], str | None], codebook_hash: str,
                   report: MergeReport) -> None:
    """Warn about files coded with another codebook, listing the code ids this codebook does not know."""
    unknown: set[str] = set()
    for f in files:
        for ev in f.events:
            cid = ev["code_id"]
            if ev["kind"] in CODE_KINDS and cid and cid != "relevance" and resolve(cid) is None:
                unknown.add(cid)
        if f.codebook_hash != codebook_hash:
            report.warnings.append(f"{_shown(f)} was coded with codebook {f.codebook_hash[:16]}, this project uses "
                                   f"{codebook_hash[:16]}: codes are matched by id.")
    report.unknown_codes = sorted(unknown)
    if unknown:
        shown = ", ".join(clean(c, oneline=True) for c in sorted(unknown)[:10]) + (" …" if len(unknown) > 10 else "")
        report.warnings.append(f"{len(unknown)} code ids are not in this codebook (kept, listed by "
                               f"`qualtui codebook orphans`): {shown}")
