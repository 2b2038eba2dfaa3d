"""Helpers for the exchange, merge and reconciliation tests: real project files that code the same posts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.samples import CODEBOOK, xhs_note
from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.model import Codebook
from tui.core.project.events import CODE_ADD, DONE, MEMO, QUOTE_ADD, RELEVANCE, Event
from tui.core.project.ingest import import_file
from tui.core.project.store import Store

CB = load_codebook(CODEBOOK)
TABLES = ("posts", "events", "imports", "wb_state", "wb_log")
AGE = "targeting/age"
TEEN = "targeting/age/teenagers"
ADULT = "targeting/age/adults"
DEBT = "targeting/financial-instability/debt"
DOCS = "control/seized-documents"
FIRST = "post-types/first-person"
NEWS = "post-types/news-awareness"


def corpus(folder: Path, n: int = 12) -> Path:
    """The same MediaCrawler file every machine imports."""
    path = folder / "search_contents_team.json"
    if not path.exists():
        path.write_text(json.dumps([xhs_note(i) for i in range(n)], ensure_ascii=False), encoding="utf-8")
    return path


def project(folder: Path, name: str, n: int = 12) -> Store:
    """A project file on one 'machine' with the team's posts imported."""
    store = Store(folder / f"{name}.db")
    import_file(store, corpus(folder, n))
    return store


def pid(store: Store, i: int) -> int:
    """This project's row id of the i-th note (ids and labels differ between projects)."""
    row = store.db.conn.execute("SELECT id FROM posts WHERE platform_id = ?", (f"{i:024x}",)).fetchone()
    return row[0]


def code(store: Store, coder: str, plan: Mapping[int, tuple[int, Sequence[str]]], *, memo: str = "",
         done: bool = True, codebook: Codebook = CB) -> None:
    """Record a coder's decisions: note index -> (relevance, codes), each post marked done."""
    events: list[Event] = []
    for i, (relevance, codes) in plan.items():
        p = pid(store, i)
        events.append(Event(coder, p, RELEVANCE, value=str(relevance), codebook_hash=codebook.hash))
        events += [Event(coder, p, CODE_ADD, code_id=c, codebook_hash=codebook.hash) for c in codes]
        if memo:
            events.append(Event(coder, p, MEMO, value=memo))
            events.append(Event(coder, p, QUOTE_ADD, code_id=codes[0] if codes else "",
                                value=json.dumps({"start": 0, "end": 4, "text": "post"})))
        if done:
            events.append(Event(coder, p, DONE, value="1"))
    for e in events:
        store.record(e)


def screen(store: Store, coder: str, decisions: Mapping[int, int], *, codebook: Codebook = CB) -> None:
    """Screening mode: note index -> relevance, one relevance event each and no `done`."""
    store.record_many([Event(coder, pid(store, i), RELEVANCE, value=str(v), codebook_hash=codebook.hash)
                       for i, v in decisions.items()])


SCREENED, SCREEN_DISAGREE = 150, 43


def screening_plans(n: int = SCREENED, disagree: int = SCREEN_DISAGREE) -> tuple[dict[int, int], dict[int, int]]:
    """Two coders' relevance decisions on `n` posts that differ on exactly `disagree` of them."""
    a = {i: 1 if i % 5 in (0, 1, 3) else 0 for i in range(n)}
    flipped = set(range(0, n, 3)[:disagree])
    assert len(flipped) == disagree
    b = {i: 1 - v if i in flipped else v for i, v in a.items()}
    return a, b


def counts(store: Store) -> dict[str, int]:
    """Row counts of every table a merge could touch."""
    return {t: store.db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def snapshot(store: Store) -> list[tuple[Any, ...]]:
    """Every event as stored (without seq), sorted: equal snapshots mean equal logs."""
    return sorted(store.db.conn.execute(
        "SELECT e.id, e.coder, p.platform_id, e.kind, e.code_id, e.value, e.ref, e.at, e.origin"
        " FROM events e JOIN posts p ON p.id = e.post_id").fetchall())


def derived(store: Store, coders: Iterable[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each coder's derived state per post, keyed by platform id (comparable across projects)."""
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    for coder in coders:
        for p, st in store.states(coder).items():
            key = store.post(p)["platform_id"]  # type: ignore[index]
            out[(coder, key)] = (st.relevance, sorted(st.codes), st.memo, st.done, len(st.quotes))
    return out


def rewrite(path: Path, edit: Any, *, fix_checksum: bool = True) -> None:
    """Change an export file's lines (`edit(header, body_lines)` mutates them), keeping its checksum valid."""
    lines = path.read_bytes().split(b"\n")[:-1]
    header = json.loads(lines[0])
    body = [json.loads(x) for x in lines[1:]]
    edit(header, body)
    raw = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in body)
    if fix_checksum:
        header["body_sha256"] = hashlib.sha256(raw).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + raw)


def seal(path: Path, header: dict[str, Any], body: bytes) -> None:
    """Write a file with the given header and raw body, checksum made to match the body."""
    header = {**header, "body_sha256": hashlib.sha256(body).hexdigest()}
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def edited_codebook(replace: Sequence[tuple[str, str]]) -> Codebook:
    """The study codebook with textual replacements applied to its YAML."""
    text = CODEBOOK.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_codebook(text, "edited.yaml")
