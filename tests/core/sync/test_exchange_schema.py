"""docs/exchange.schema.json is the exchange format's contract: exports validate, hostile files do not, merge agrees."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.sync_helpers import CB, DEBT, DOCS, TEEN, project, rewrite
from tui.core.coding.open_coding import create_code, edit_code, merge_codes, move_code, retire_code
from tui.core.coding.session import Session
from tui.core.project.events import CONSENSUS, EVENT_KINDS, RELEVANCE, TIME_SYNTAX, Event, coder_problem, utc_time
from tui.core.project.store import Store
from tui.core.sync.consensus import KEEP, Choice, apply_choice, disagreements
from tui.core.sync.exchange import SyncError, export_events
from tui.core.sync.exchange_lines import take_line
from tui.core.sync.exchange_read import read_export

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "exchange.schema.json").read_text(encoding="utf-8"))
HEADER = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/header"})
LINE = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/line"})


def schema_problems(path: Path) -> list[str]:
    """Every schema error in an exchange file, as 'line N: message'."""
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the last line must end with a newline"
    out = [f"line 1: {e.message}" for e in HEADER.iter_errors(json.loads(lines[0]))]
    for n, raw in enumerate(lines[1:-1], start=2):
        out += [f"line {n}: {e.message}" for e in LINE.iter_errors(json.loads(raw))]
    return out


def test_the_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(SCHEMA["$defs"]["event"]["properties"]["kind"]["enum"]) == EVENT_KINDS
    assert SCHEMA["$defs"]["time"]["pattern"] == "^" + TIME_SYNTAX + "(?![\\s\\S])"


def _every_kind(store: Store, coder: str) -> None:
    """One coder's session using every kind of decision the coding app records."""
    s = Session(store, CB, coder)
    s.go(0)
    if s.current is not None and s.current.blind:  # a blind post shows no suggestion to decide on
        s.go(1)
    s.set_relevance(1)
    s.add_code(TEEN)
    s.set_memo("a memo\nover two lines")
    s.remove_code(TEEN)
    s.add_code(TEEN)
    s.toggle_quote(0, TEEN)
    s.toggle_quote(0)
    s.toggle_flag()
    s.decide_suggestion(DEBT, True)
    s.decide_suggestion(DOCS, False)
    s.decide_suggestion("relevance", True)
    s.undo()
    s.redo()
    s.set_done(True)
    s.go(1)
    s.skip()
    s.go(2)
    s.set_relevance(0)
    s.go(3)
    s.defer()
    # Open coding: every codebook change, on a post and on none, and an undo and redo of one made on none.
    s.go(4)
    a = create_code(s, "Sold on 被卖", definition="d", aliases=["卖"], parent="targeting")
    b = create_code(s, "Second", definition="d", assign=False, on_post=False)
    edit_code(s, a.id, name="Sold on", on_post=False)
    move_code(s, b.id, "targeting", on_post=False)
    merge_codes(s, b.id, a.id)
    retire_code(s, create_code(s, "Spare", definition="", assign=False, on_post=False).id, on_post=False)
    s.undo()
    s.redo()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A project where alice used every kind of decision and bob disagrees, reconciled once."""
    st = project(tmp_path, "p")
    _every_kind(st, "alice")
    for post_id, state in st.states("alice").items():  # bob screens the same posts the other way
        st.record(Event("bob", post_id, RELEVANCE, value="0" if state.relevance == 1 else "1"))
    d = disagreements(st, CB)[0]
    apply_choice(st, CB, d.post_id, Choice(KEEP, coder="alice", type="unclear definition", note="n"), by="lead")
    with st.db.conn:
        st.db.conn.execute("INSERT INTO wb_state (coder, state, updated_at) VALUES ('alice', '{}',"
                           " '2026-11-22T10:00:00.000Z')")
        st.db.conn.execute("INSERT INTO wb_log (coder, kind, at, day, minutes, weighted, value, detail) VALUES"
                           " ('alice', 'break', '2026-11-22T10:00:00.000Z', '2026-11-22', 5, 2.5, NULL, '{}')")
    return st


@pytest.mark.parametrize(("coder", "options"), [
    ("alice", {}), ("alice", {"with_text": True}), ("alice", {"with_wellbeing": True}),
    ("alice", {"with_text": True, "with_wellbeing": True}), ("bob", {}), (CONSENSUS, {}),
])
def test_every_export_validates(store: Store, tmp_path: Path, coder: str, options: dict[str, bool]) -> None:
    path = tmp_path / "out.qualtui.jsonl"
    export_events(store, path, coder=coder, codebook_hash=CB.hash, **options)
    assert schema_problems(path) == []
    kinds = {json.loads(x).get("kind") for x in path.read_text(encoding="utf-8").splitlines()[1:]}
    if coder == "alice" and not options:
        assert kinds == EVENT_KINDS - {"reconcile"}  # the test covers every kind a coder records
    if coder == CONSENSUS:
        assert "reconcile" in kinds
    assert read_export(path).coder == coder  # and the reader takes it
    if coder == "alice":  # changes made on no post travel with an empty platform, an undo and redo of one too
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()[1:]]
        no_post = [x["kind"] for x in lines if x.get("type") == "event" and not x["platform"]]
        assert set(no_post) == {"code_create", "code_edit", "code_move", "code_retire", "undo", "redo"}


HOSTILE: list[tuple[str, Any]] = [
    ("time not a time", lambda h, b: b[0].update(at="not a time")),
    ("arm not an arm", lambda h, b: b[0].update(arm="hidden")),
    ("time without zone", lambda h, b: b[0].update(at="2026-11-22T10:00:00")),
    ("time with a newline", lambda h, b: b[0].update(at="2026-11-22T10:00:00Z\n")),
    ("coder with a newline", lambda h, b: [x.update(coder="a\nNothing was merged.") for x in [h, *b]]),
    ("coder of 1 MB", lambda h, b: [x.update(coder="a" * 1_000_000) for x in [h, *b]]),
    ("coder with an escape", lambda h, b: [x.update(coder="\x1b[31mred") for x in [h, *b]]),
    ("code id of 201", lambda h, b: b[1].update(code_id="c" * 201)),
    ("code id with a newline", lambda h, b: b[1].update(code_id="a\nb")),
    ("relevance 2", lambda h, b: b[0].update(value="2")),
    ("unknown kind", lambda h, b: b[0].update(kind="rm -rf")),
    ("event id with a space", lambda h, b: b[0].update(id="a b")),
    ("missing field", lambda h, b: b[0].pop("text_hash")),
    ("header without created_at", lambda h, b: h.pop("created_at")),
    ("negative count", lambda h, b: h.update(posts=-1)),
    ("codebook change value not an object", lambda h, b: b[1].update(kind="code_edit", value="[1]")),
    ("codebook change value over the limit", lambda h, b: b[1].update(kind="code_edit",
                                                                      value='{"d":"' + "x" * 32_000 + '"}')),
    ("decision on no post", lambda h, b: b[0].update(platform="", platform_id="", text_hash="")),
    ("half a post on a codebook change", lambda h, b: b[1].update(kind="code_create", value="{}", platform="")),
]


@pytest.fixture
def exported(store: Store, tmp_path: Path) -> Path:
    """Alice's plain export (first event: relevance, second: code_add)."""
    path = tmp_path / "alice.qualtui.jsonl"
    export_events(store, path, coder="alice", codebook_hash=CB.hash)
    kinds = [json.loads(x)["kind"] for x in path.read_text(encoding="utf-8").splitlines()[1:3]]
    assert kinds == ["relevance", "code_add"]
    return path


@pytest.mark.parametrize(("name", "edit"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_fail_the_schema_and_the_merge(exported: Path, name: str, edit: Any) -> None:
    rewrite(exported, edit)
    assert schema_problems(exported), name
    with pytest.raises(SyncError):
        read_export(exported)


def test_an_offset_time_is_valid_for_both(exported: Path) -> None:
    rewrite(exported, lambda h, b: b[0].update(at="2026-11-22T09:30:00.5-02:00"))
    assert schema_problems(exported) == []
    assert read_export(exported).events[0]["at"] == "2026-11-22T11:30:00.500Z"


def _event(**fields: str) -> dict[str, Any]:
    return {"type": "event", "id": "0123abcd", "coder": "alice", "kind": "memo", "code_id": "", "value": "",
            "ref": "", "at": "2026-11-22T10:00:00.000Z", "codebook_hash": "", "origin": "", "platform": "xhs",
            "platform_id": "1", "text_hash": "", **fields}


def _reader_takes(obj: dict[str, Any]) -> bool:
    from tui.core.sync.exchange import ExportFile

    out = ExportFile(Path("x"), {"coder": "alice"})
    return take_line(out, dict(obj), set()) is None


def test_reader_and_schema_agree_on_every_kind_and_field() -> None:
    """For each kind, every mix of code_id, value and ref: the schema and the reader give the same verdict."""
    codes = ["", TEEN, "relevance", "c" * 201, "a\nb"]
    values = ["", "0", "1", "2", "a memo", '{"start": 0, "end": 4, "text": "post"}', "{}", "[1]", '{"name": "x"} ']
    refs = ["", "0123abcd", "not an id", "x" * 65]
    checked = 0
    for kind, code_id, value, ref in itertools.product(sorted(EVENT_KINDS), codes, values, refs):
        obj = _event(kind=kind, code_id=code_id, value=value, ref=ref)
        assert LINE.is_valid(obj) == _reader_takes(obj), obj
        checked += 1
    assert checked == len(EVENT_KINDS) * len(codes) * len(values) * len(refs)


def test_reader_and_schema_agree_on_events_made_on_no_post() -> None:
    """For each kind, a post named or not (all three fields empty, or only some): the same verdict.

    An undo or redo made on no post must take back a codebook change, which neither can follow: the merge
    checks it (test_codebook_sync.py).
    """
    posts = [("xhs", "1", ""), ("", "", ""), ("", "1", ""), ("xhs", "", ""), ("", "", "0" * 32)]
    checked = 0
    for kind, code_id, value, ref, (pl, pi, th) in itertools.product(
            sorted(EVENT_KINDS), ["", TEEN], ["", "1", "{}"], ["", "0123abcd"], posts):
        obj = _event(kind=kind, code_id=code_id, value=value, ref=ref, platform=pl, platform_id=pi, text_hash=th)
        assert LINE.is_valid(obj) == _reader_takes(obj), obj
        checked += (not pl and not pi and not th) and LINE.is_valid(obj)
    assert checked == 5 + 2  # one valid line per codebook kind (code, {}) and per undo/redo (ref, no value)
    for size, valid in ((32_000, True), (32_001, False)):  # the size limit, at its edge
        obj = _event(kind="code_edit", code_id=TEEN, value='{"d":"' + "x" * (size - 8) + '"}')
        assert LINE.is_valid(obj) == _reader_takes(obj) == valid


@pytest.mark.parametrize(("kind", "value", "ref", "says"), [
    ("code_create", '{"name": }', "", "line 2: a code_create event's value is not valid JSON"),
    ("code_edit", "[1]", "", "line 2: a code_edit event's value is not a JSON object"),
    ("code_merge", "{" + "x" * 32_000 + "}", "", "line 2: a code_merge event's value is 32,002 characters long"),
    ("memo", "a memo", "", "line 2: a memo event names no post (an empty platform), which only codebook changes"),
])
def test_a_bad_codebook_line_is_one_sentence_with_its_line(exported: Path, kind: str, value: str, ref: str,
                                                            says: str) -> None:
    rewrite(exported, lambda h, b: b[0].update(kind=kind, code_id="" if kind in ("memo", "undo") else TEEN,
                                               value=value, ref=ref, platform="", platform_id="", text_hash=""))
    with pytest.raises(SyncError) as err:
        read_export(exported)
    assert says in str(err.value) and str(err.value).count(". ") == 0 and "\n" not in str(err.value)


@pytest.mark.parametrize("at", [
    "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456789+05:30", "2026-11-22t10:00:00Z",
    "2026-11-22T10:00:00z", "2026-11-22T10:00Z", "2026-11-22T10:00:60Z", "2026-13-01T10:00:00Z", "2026-11-22T24:00:00Z",
    "2026-11-22T10:00:00+24:00", "20261122T100000Z", " 2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z ", "",
])
def test_reader_and_schema_agree_on_times(at: str) -> None:
    # One difference is known and documented: the schema cannot tell that 2026-02-30 does not exist.
    assert LINE.is_valid(_event(at=at)) == (utc_time(at) is not None) == _reader_takes(_event(at=at))


@pytest.mark.parametrize("coder", ["alice", "Alice B.", "李华", "x" * 64, "x" * 65, " alice", "alice ", "a\nb", "a\tb",
                                   "\x1b[31m", "a\u202eb", "a\u2028b", "a\x85b", ""])
def test_reader_and_schema_agree_on_coder_names(coder: str) -> None:
    header_schema = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/coder"}
    assert Draft202012Validator(header_schema).is_valid(coder) == (coder_problem(coder) is None)
