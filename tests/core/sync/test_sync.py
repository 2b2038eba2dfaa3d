"""Exchange files and merging: format, checksum, refusals that write nothing, idempotence, order, origins."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.sync_helpers import (
    ADULT,
    AGE,
    CB,
    DEBT,
    DOCS,
    FIRST,
    NEWS,
    TEEN,
    code,
    counts,
    derived,
    edited_codebook,
    pid,
    project,
    rewrite,
    seal,
    snapshot,
)
from tui.core.files import MAX_LINE_BYTES
from tui.core.project.events import CONSENSUS, RELEVANCE, Event
from tui.core.project.store import Store
from tui.core.sync.consensus import BOTH, KEEP, Choice, apply_choice, disagreements
from tui.core.sync.exchange import FORMAT, POST_FIELDS, SyncError, export_events
from tui.core.sync.exchange_read import read_export
from tui.core.sync.merge import merge_files
from tui.core.sync.tables import agreement_table

PLAN_A = {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, []), 3: (1, [DOCS, NEWS])}
PLAN_B = {0: (1, [ADULT, FIRST]), 1: (1, [DEBT, DOCS]), 2: (1, [AGE]), 3: (1, [DOCS, NEWS])}


def _merge(store: Store, *paths: Path, rename: str | None = None, codebook=CB):  # type: ignore[no-untyped-def]
    return merge_files(store, list(paths), resolve=codebook.resolve, codebook_hash=codebook.hash, rename=rename)


def _export(store: Store, path: Path, coder: str, **kw: bool) -> Path:
    export_events(store, path, coder=coder, codebook_hash=CB.hash, **kw)
    return path


@pytest.fixture
def team(tmp_path: Path) -> dict[str, object]:
    """Alice and Bob on their own machines, each with an export file, and a lead's empty project."""
    a, b, lead = project(tmp_path, "alice"), project(tmp_path, "bob"), project(tmp_path, "lead")
    code(a, "alice", PLAN_A, memo="my memo")
    code(b, "bob", PLAN_B)
    return {"a": a, "b": b, "lead": lead, "fa": _export(a, tmp_path / "alice.qualtui.jsonl", "alice"),
            "fb": _export(b, tmp_path / "bob.qualtui.jsonl", "bob"), "dir": tmp_path}


def test_export_file_format(team: dict) -> None:
    raw = team["fa"].read_bytes()
    first, _, body = raw.partition(b"\n")
    header = json.loads(first)
    assert header["format"] == FORMAT and header["version"] == 1 and header["coder"] == "alice"
    assert header["origin"] == team["a"].meta("project_id") and header["codebook_hash"] == CB.hash
    assert header["body_sha256"] == hashlib.sha256(body).hexdigest()
    lines = [json.loads(x) for x in body.splitlines()]
    assert header["events"] == len(lines) == len(team["a"].events(coder="alice")) and header["posts"] == 0
    ev = lines[0]
    assert "post_id" not in ev and ev["platform"] == "xhs" and len(ev["text_hash"]) == 32
    assert ev["origin"] == header["origin"]
    assert "title 0" not in raw.decode() and "post text" not in raw.decode()  # no post text without --with-text
    assert not list(team["dir"].glob(".*.tmp"))  # the temporary file was renamed into place


def test_export_refuses_unknown_coder(team: dict) -> None:
    with pytest.raises(SyncError, match="no events"):
        export_events(team["a"], team["dir"] / "x.jsonl", coder="nobody", codebook_hash=CB.hash)
    assert not (team["dir"] / "x.jsonl").exists()


def test_merge_is_idempotent_and_prints_nothing_new_twice(team: dict) -> None:
    lead = team["lead"]
    report = _merge(lead, team["fa"], team["fb"])
    assert report.added == report.read > 0 and set(report.coders) == {"alice", "bob"}
    before, snap = counts(lead), snapshot(lead)
    again = _merge(lead, team["fa"], team["fb"])
    assert not again.changed and again.added == 0 and again.already == report.read
    assert counts(lead) == before and snapshot(lead) == snap
    assert derived(lead, ["alice"]) == derived(team["a"], ["alice"])  # the same decisions on another machine


def test_merge_order_independent(team: dict, tmp_path: Path) -> None:
    x, y = project(tmp_path, "x"), project(tmp_path, "y")
    _merge(x, team["fa"])
    _merge(x, team["fb"])
    _merge(y, team["fb"], team["fa"])
    assert derived(x, ["alice", "bob"]) == derived(y, ["alice", "bob"])
    assert snapshot(x) == snapshot(y)


def test_exchange_twice_adds_only_new_events(team: dict) -> None:
    a, b = team["a"], team["b"]
    _merge(a, team["fb"])
    _merge(b, team["fa"])
    code(a, "alice", {5: (1, [DEBT])})  # a second week of work
    week2 = _export(a, team["dir"] / "alice-2.qualtui.jsonl", "alice")
    report = _merge(b, week2)
    assert report.added == 3 and report.already == len(a.events(coder="alice")) - 3
    assert derived(b, ["alice"]) == derived(a, ["alice"])


def _refused(store: Store, *paths: Path, match: str, **kw: object) -> None:
    before, snap = counts(store), snapshot(store)
    with pytest.raises(SyncError, match=match) as info:
        _merge(store, *paths, **kw)  # type: ignore[arg-type]
    assert str(info.value).endswith("Nothing was merged.")
    assert counts(store) == before and snapshot(store) == snap


def test_wrong_checksum_refused(team: dict) -> None:
    raw = bytearray(team["fa"].read_bytes())
    raw[-20] = ord("0") if raw[-20] != ord("0") else ord("1")
    team["fa"].write_bytes(bytes(raw))
    # The good file given first is not merged either: all files or none.
    _refused(team["lead"], team["fb"], team["fa"], match="checksum does not match")


@pytest.mark.parametrize("cut", ["half line", "whole line"])
def test_truncated_file_refused(team: dict, cut: str) -> None:
    raw = team["fa"].read_bytes()
    last = raw.rstrip(b"\n").rfind(b"\n")
    team["fa"].write_bytes(raw[: last + 10] if cut == "half line" else raw[: last + 1])
    _refused(team["lead"], team["fa"], match="truncated")


def test_extra_lines_refused(team: dict) -> None:
    with team["fa"].open("ab") as fh:
        fh.write(b'{"type":"event"}\n')
    _refused(team["lead"], team["fa"], match="more lines than its header")


@pytest.mark.parametrize(("field", "value", "match"), [
    ("format", "maxqda-events", "unknown format 'maxqda-events'"),
    ("version", 2, "version 2, which this qualtui cannot read"),
    ("coder", "", "malformed header"),
])
def test_header_problems_refused(team: dict, field: str, value: object, match: str) -> None:
    rewrite(team["fa"], lambda h, body: h.__setitem__(field, value))
    _refused(team["lead"], team["fa"], match=match)


def test_malformed_json_refused(team: dict) -> None:
    body = team["fa"].read_bytes().partition(b"\n")[2]
    header = json.loads(team["fa"].read_bytes().partition(b"\n")[0])
    lines = body.splitlines()
    lines[1] = b'{"type": "event", "id": '  # checksum recomputed: only the JSON is wrong
    seal(team["fa"], header, b"\n".join(lines) + b"\n")
    _refused(team["lead"], team["fa"], match="line 3 is not valid JSON")
    team["fb"].write_bytes(b"not json at all\n")
    _refused(team["lead"], team["fb"], match="first line is not valid JSON")


@pytest.mark.parametrize(("edit", "match"), [
    (lambda ev: ev.__setitem__("kind", "rm -rf"), "unknown event kind"),
    (lambda ev: ev.__setitem__("coder", "mallory"), "coder differs"),
    (lambda ev: ev.pop("platform_id"), "'platform_id' is missing"),
])
def test_bad_event_lines_refused(team: dict, edit: object, match: str) -> None:
    rewrite(team["fa"], lambda h, body: edit(body[0]))  # type: ignore[operator]
    _refused(team["lead"], team["fa"], match=match)


def test_events_for_unknown_posts_refused(team: dict, tmp_path: Path) -> None:
    other = Store(tmp_path / "empty.db")
    _refused(other, team["fa"], match="posts this project does not have")


def test_with_text_brings_posts_in(team: dict, tmp_path: Path) -> None:
    fa = _export(team["a"], tmp_path / "text.qualtui.jsonl", "alice", with_text=True)
    lines = [json.loads(x) for x in fa.read_text(encoding="utf-8").splitlines()[1:]]
    posts = [x for x in lines if x["type"] == "post"]
    assert len(posts) == len(PLAN_A) and set(posts[0]) == {"type", "platform", "platform_id", "text_hash",
                                                           *POST_FIELDS}
    authors = {p["author"] for p in team["a"].posts()}
    assert all(a and a not in fa.read_text(encoding="utf-8") for a in authors)  # no author, not even a pseudonym
    empty = Store(tmp_path / "empty.db")
    report = _merge(empty, fa)
    assert report.posts_added == len(PLAN_A) and empty.count_posts() == len(PLAN_A)
    here = empty.posts()
    assert all(p["author"] == "" and p["label"].startswith("P-") for p in here)
    assert {p["title"] for p in here} == {f"title {i}" for i in PLAN_A}
    assert derived(empty, ["alice"]) == derived(team["a"], ["alice"])
    before = counts(empty)
    assert not _merge(empty, fa).changed and counts(empty) == before


def test_coder_clash_refused_unless_renamed(team: dict) -> None:
    b = team["b"]
    code(b, "alice", {6: (1, [DEBT])})  # a different person called alice works on bob's machine
    _refused(b, team["fa"], match="coder 'alice' already has events here that were coded in this project")
    report = _merge(b, team["fa"], rename="alice2")
    assert report.coders == {"alice2": report.added}
    assert {r["coder"] for r in b.events()} == {"alice", "alice2", "bob"}
    assert not _merge(b, team["fa"], rename="alice2").changed
    _refused(b, team["fa"], rename="alice3", match="already in this project with different content")


def test_same_origin_and_same_project_merge_fine(team: dict, tmp_path: Path) -> None:
    a = team["a"]
    assert not _merge(a, team["fa"]).changed  # its own export comes back: same project id
    lead = team["lead"]
    _merge(lead, team["fa"])
    _merge(team["b"], team["fa"])  # bob's machine passes alice's work on to the lead
    relay = _export(team["b"], tmp_path / "relay.qualtui.jsonl", "alice")
    assert json.loads(relay.read_text().splitlines()[1])["origin"] == a.meta("project_id")
    assert not _merge(lead, relay).changed


def test_two_files_with_one_coder_from_two_projects_refused(team: dict, tmp_path: Path) -> None:
    other = project(tmp_path, "other")
    code(other, "alice", {7: (1, [DEBT])})
    f2 = _export(other, tmp_path / "alice-other.qualtui.jsonl", "alice")
    _refused(team["lead"], team["fa"], f2, match="from 2 different projects")
    with pytest.raises(SyncError, match="--as renames the coder of one file"):
        _merge(team["lead"], team["fa"], f2, rename="x")


def test_three_coders(team: dict, tmp_path: Path) -> None:
    c = project(tmp_path, "carol")
    code(c, "carol", {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, []), 3: (1, [NEWS])})
    fc = _export(c, tmp_path / "carol.qualtui.jsonl", "carol")
    lead = team["lead"]
    _merge(lead, team["fa"], team["fb"], fc)
    table = agreement_table(lead, CB, by="code")
    assert table.coders == ("alice", "bob", "carol") and table.n_posts == 4
    rows = {r.id: r.result for r in table.rows}
    docs = rows[DOCS]
    assert docs.kappa is None and docs.a_only is None  # kappa and A/B counts are for two coders only
    assert (docs.both, docs.only, docs.alpha is not None) == (0, {"alice": 0, "bob": 1, "carol": 0}, True)
    assert len(disagreements(lead, CB)) == 4


def test_codebook_hash_warning_maps_by_id(team: dict) -> None:
    newer = edited_codebook([("name: Debt\n", "name: Debts and loans\n")])  # renamed: same id, new hash
    assert newer.hash != CB.hash
    report = _merge(team["lead"], team["fa"], codebook=newer)
    assert any("coded with codebook" in w for w in report.warnings) and report.unknown_codes == []
    gone = edited_codebook([("- id: control/seized-documents\n", "- id: control/held-documents\n")])
    report = _merge(team["lead"], team["fb"], codebook=gone)
    assert report.unknown_codes == [DOCS] and any(DOCS in w for w in report.warnings)


def test_former_ids_map_old_events(team: dict) -> None:
    # Merge "adults" into "teenagers": the surviving code lists the other's id as a former id.
    merged = edited_codebook([
        ("          - id: targeting/age/adults\n", "          - id: targeting/age/grown-ups\n"),
        ("          - id: targeting/age/teenagers\n",
         "          - id: targeting/age/teenagers\n            former_ids: [targeting/age/adults]\n"),
    ])
    lead = team["lead"]
    report = _merge(lead, team["fa"], team["fb"], codebook=merged)
    assert report.unknown_codes == []
    row = {r.id: r.result for r in agreement_table(lead, merged, by="subcode").rows}[TEEN]
    assert (row.both, row.a_only, row.b_only) == (1, 0, 0)
    before = {r.id: r.result for r in agreement_table(lead, CB, by="subcode").rows}[TEEN]
    assert (before.both, before.a_only) == (0, 1)


def test_wellbeing_only_on_opt_in(team: dict, tmp_path: Path) -> None:
    a = team["a"]
    with a.db.conn:
        a.db.conn.execute("INSERT INTO wb_state (coder, state, updated_at) VALUES ('alice', '{}',"
                          " '2026-11-22T10:00:00.000Z')")
        a.db.conn.execute("INSERT INTO wb_log (coder, kind, at, day, minutes) VALUES ('alice', 'break',"
                          " '2026-11-22T10:00:00.000Z', '2026-11-22', 5)")
    plain = _export(a, tmp_path / "plain.qualtui.jsonl", "alice")
    assert "wb_" not in plain.read_text() and read_export(plain).wellbeing == []
    opted = _export(a, tmp_path / "wb.qualtui.jsonl", "alice", with_wellbeing=True)
    assert json.loads(opted.read_text().splitlines()[0])["wellbeing"] == 2
    lead = team["lead"]
    _merge(lead, plain)
    assert counts(lead)["wb_log"] == 0
    assert _merge(lead, opted).wellbeing_added == 2 and counts(lead)["wb_log"] == 1
    assert not _merge(lead, opted).changed


def test_two_machines_end_to_end(tmp_path: Path) -> None:
    """Two coders on two machines, two exchanges, agreement, reconciliation, a consensus file for a third."""
    a, b = project(tmp_path, "machine-a", 20), project(tmp_path, "machine-b", 20)
    assert {p["label"] for p in a.posts()} != {p["label"] for p in b.posts()}  # local labels differ
    code(a, "alice", {i: PLAN_A[i] for i in range(3)})
    code(b, "bob", {i: PLAN_B[i] for i in range(3)})
    for week in (1, 2):
        fa = _export(a, tmp_path / f"alice-{week}.qualtui.jsonl", "alice")
        fb = _export(b, tmp_path / f"bob-{week}.qualtui.jsonl", "bob")
        _merge(a, fb)
        _merge(b, fa)
        _merge(a, fb)  # a file merged twice changes nothing
        if week == 1:
            code(a, "alice", {3: PLAN_A[3]})
            code(b, "bob", {3: PLAN_B[3]})
    for store in (a, b):
        assert len(store.events()) == len(a.events(coder="alice")) + len(b.events(coder="bob"))
    assert derived(a, ["alice", "bob"]) == derived(b, ["alice", "bob"])
    table = agreement_table(a, CB, by="code")
    rows = {r.id: r.result for r in table.rows}
    assert table.n_posts == 4 and rows["relevance"].a_only == 0 and rows["relevance"].b_only == 1
    assert (rows[AGE].both, rows[AGE].b_only) == (1, 1) and rows[DOCS].b_only == 1 and rows[NEWS].percent == 1.0
    for d in disagreements(a, CB):
        choice = Choice(KEEP, coder="alice", type="missed code") if d.count > 1 else Choice(BOTH, note="fine")
        apply_choice(a, CB, d.post_id, choice, by="lead")
    assert disagreements(a, CB, unresolved_only=True) == []
    cons = _export(a, tmp_path / "consensus.qualtui.jsonl", CONSENSUS)
    third = project(tmp_path, "machine-c", 20)
    report = _merge(third, cons)
    assert report.coders == {CONSENSUS: len(a.events(coder=CONSENSUS))}
    assert derived(third, [CONSENSUS]) == derived(a, [CONSENSUS])
    got = {third.post(p)["platform_id"]: sorted(st.codes) for p, st in third.states(CONSENSUS).items()}
    assert got[f"{0:024x}"] == sorted(PLAN_A[0][1]) and got[f"{1:024x}"] == sorted({DEBT, DOCS})
    assert third.state(CONSENSUS, pid(third, 2)).relevance == 0
    assert not _merge(third, cons).changed


# ---------------------------------------------------------------- times, names and ids in merged files


def _one_event(path: Path, **fields: str) -> None:
    """Change the file's first event line, checksum kept valid."""
    rewrite(path, lambda h, body: body[0].update(fields))


def test_offset_time_is_converted_to_utc_and_ordered_by_time(team: dict, tmp_path: Path) -> None:
    """09:30-02:00 is 11:30Z: later than 10:00Z, although it sorts before it as text."""
    a = project(tmp_path, "offset")
    p = pid(a, 8)
    a.record(Event("carol", p, RELEVANCE, value="1", at="2026-11-22T10:00:00.000Z"))
    a.record(Event("carol", p, RELEVANCE, value="0", at="2026-11-22T09:30:00.000Z"))
    f = _export(a, tmp_path / "carol.qualtui.jsonl", "carol")
    rewrite(f, lambda h, body: body[1].update(at="2026-11-22T09:30:00-02:00"))
    lead = team["lead"]
    assert _merge(lead, f).added == 2
    st = lead.state("carol", pid(lead, 8))
    assert st.relevance == 0  # the later decision, by the clock
    stored = sorted(r[0] for r in lead.db.conn.execute("SELECT at FROM events WHERE coder = 'carol'"))
    assert stored == ["2026-11-22T10:00:00.000Z", "2026-11-22T11:30:00.000Z"]
    assert not _merge(lead, f).changed  # converted the same way every time: idempotent


@pytest.mark.parametrize("at", ["not a time", "2026-11-22 10:00:00Z", "2026-11-22T10:00Z", "2026-11-22T10:00:00",
                                "2026-02-30T10:00:00Z", "2026-11-22T10:00:60Z", "2026-11-22T10:00:00Z\n", ""])
def test_event_time_not_rfc3339_refused(team: dict, at: str) -> None:
    _one_event(team["fa"], at=at)
    _refused(team["lead"], team["fa"], match=r"alice.qualtui.jsonl line 2: the event's time 'at' is not an RFC 3339")


@pytest.mark.parametrize(("where", "value", "match"), [
    ("header", "alice\nNothing was merged.", "line 1: the coder name contains a line break"),
    ("header", "alice\x1b[31m", "line 1: the coder name contains a line break or another control character"),
    ("header", "a" * 1_000_000, "line 1: the coder name is 1000000 characters long, over the limit of 64"),
    ("header", " alice", "line 1: the coder name starts or ends with a space"),
    ("code_id", "x" * 201, "line 2: the code id is 201 characters long, over the limit of 200"),
    ("code_id", "targeting\nage", "line 2: the code id contains a line break"),
], ids=["newline", "escape", "1MB", "space", "long-code", "newline-code"])
def test_hostile_names_refused(team: dict, where: str, value: str, match: str) -> None:
    def edit(h: dict, body: list) -> None:
        if where == "header":
            h["coder"] = value
            for line in body:
                line["coder"] = value
        else:
            body[0].update(kind="code_add", code_id=value, value="")

    rewrite(team["fa"], edit)
    _refused(team["lead"], team["fa"], match=match)


def test_rename_to_a_hostile_name_refused(team: dict) -> None:
    _refused(team["lead"], team["fa"], rename="bob\nNothing was merged.", match="--as cannot be used: the coder name")
    _refused(team["lead"], team["fa"], rename="b" * 65, match="over the limit of 64")


@pytest.mark.parametrize(("fields", "match"), [
    ({"kind": "relevance", "value": "2"}, "a relevance event's value must be \"0\" or \"1\""),
    ({"kind": "done", "value": "yes"}, "a done event's value must be"),
    ({"kind": "undo", "ref": "", "code_id": "", "value": ""}, "an? undo event's ref must be the id"),
    ({"kind": "code_add", "code_id": "", "value": ""}, "a code_add event needs a code_id"),
    ({"kind": "skip", "code_id": "", "value": "", "ref": "abc"}, "a skip event has a ref"),
    ({"id": "has space"}, "the event's id is not 1 to 64 letters"),
    ({"text_hash": "xyz"}, "text_hash is not 32"),
])
def test_event_fields_must_fit_their_kind(team: dict, fields: dict, match: str) -> None:
    _one_event(team["fa"], **fields)
    _refused(team["lead"], team["fa"], match=match)


# ---------------------------------------------------------------- bounded reads


def _in_time(fn: Any, seconds: float = 10) -> Any:
    """Run `fn` in a thread; fail (instead of hanging the suite) if it does not return in time."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: B036 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the merge hung"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_fifo_refused_without_hanging(team: dict, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.qualtui.jsonl"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait forever
    match = "is a named pipe; a qualtui exchange file must be a regular file"
    with pytest.raises(SyncError, match=match):
        _in_time(lambda: read_export(fifo))
    _refused(team["lead"], fifo, match=match)


@pytest.mark.parametrize("kind", ["folder", "device"])
def test_folder_and_device_refused(team: dict, tmp_path: Path, kind: str) -> None:
    target = tmp_path if kind == "folder" else Path("/dev/zero")
    if kind == "device" and not target.exists():
        pytest.skip("no /dev/zero here")
    match = "is a folder" if kind == "folder" else "is a device"
    with pytest.raises(SyncError, match=match):
        _in_time(lambda: read_export(target))
    _refused(team["lead"], target, match=match)


def test_over_long_line_refused_with_its_number(team: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    rewrite(team["fa"], lambda h, body: body[1].update(kind="memo", code_id="", ref="", value="m" * 5000))
    assert read_export(team["fa"]).events  # fine under the real limit
    monkeypatch.setattr("tui.core.sync.exchange_read.MAX_LINE_BYTES", 1000)
    _refused(team["lead"], team["fa"], match="line 3 is longer than the 1,000-byte limit for one line")


def test_file_over_the_size_limit_refused_before_reading(team: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tui.core.sync.exchange_read.MAX_EXCHANGE_BYTES", 100)
    opened: list[object] = []
    monkeypatch.setattr("tui.core.sync.exchange_read.os.open", lambda *a, **k: opened.append(a) or os.open(*a, **k))
    _refused(team["lead"], team["fa"], match="over the 100 bytes limit for a qualtui exchange file")
    assert opened == []  # refused from its size alone


def test_reader_streams_line_by_line(team: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """No read asks for more than one line's worth: a huge file is never read whole to be refused."""
    asked: list[int] = []
    monkeypatch.setattr("tui.core.sync.exchange_read.os.fdopen", lambda fd, mode: _Spy(asked, open(fd, mode)))
    read_export(team["fa"])
    assert asked and all(0 < n <= MAX_LINE_BYTES + 1 for n in asked)


class _Spy:
    """A binary file whose readline calls are recorded and that has no other way to read."""

    def __init__(self, asked: list[int], fh: Any) -> None:
        self._asked, self._fh = asked, fh

    def readline(self, size: int = -1) -> bytes:
        self._asked.append(size)
        return self._fh.readline(size)

    def fileno(self) -> int:
        return self._fh.fileno()

    def __enter__(self) -> _Spy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


def test_deeply_nested_line_refused(team: dict) -> None:
    header = json.loads(team["fa"].read_bytes().partition(b"\n")[0])
    lines = team["fa"].read_bytes().partition(b"\n")[2].splitlines()
    lines[0] = b"[" * 200_000 + b"]" * 200_000  # json.loads raises RecursionError, not ValueError
    seal(team["fa"], header, b"\n".join(lines) + b"\n")
    _refused(team["lead"], team["fa"], match="line 2 is not valid JSON")


def test_exchange_file_carries_no_terminal_control_and_merges_back_unchanged(tmp_path: Path) -> None:
    # A memo that would recolour, reorder or clear a terminal that `cat`s the file.
    hostile = "note \x9b31m red \u202eevil\u202c \x1b]52;c;QUJD\x07 \u2028 end\x7f"
    a, lead = project(tmp_path, "alice"), project(tmp_path, "lead")
    code(a, "alice", PLAN_A, memo=hostile)
    path = _export(a, tmp_path / "alice.qualtui.jsonl", "alice")
    text = path.read_text(encoding="utf-8")
    assert not any(ch in text for ch in "\x1b\x07\x7f\x9b\u202e\u202c\u2028"), "raw control characters in the file"
    _merge(lead, path)
    memos = [e["value"] for e in lead.events(coder="alice") if e["kind"] == "memo"]
    assert hostile in memos  # the data itself is unchanged: escaped in the file, decoded on merge


def test_export_never_replaces_a_symlink_and_needs_an_existing_folder(team: dict, tmp_path: Path) -> None:
    # The core refuses what the CLI refuses: the link stays a link and its target is untouched.
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.qualtui.jsonl"
    link.symlink_to(target)
    with pytest.raises(SyncError, match="symbolic link"):
        export_events(team["a"], link, coder="alice", codebook_hash=CB.hash)
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "keep me"
    with pytest.raises(SyncError, match="folder does not exist"):
        export_events(team["a"], tmp_path / "missing" / "a.qualtui.jsonl", coder="alice", codebook_hash=CB.hash)
    assert not (tmp_path / "missing").exists()
