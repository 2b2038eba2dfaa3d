"""The coded project as a REFI-QDA `.qdpx` archive: layout, schema, offsets, users, and what never leaves."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from tests.qdpx_helpers import EMOJI_TEXT, XSD, coded_project
from tests.sync_helpers import CB, TEEN, pid
from tui.core.codebook.qdc import guid
from tui.core.project.store import Store
from tui.core.report.qdpx import NS, QdpxExportError, export_qdpx, plain_text, source_guid, user_guid

Q = f"{{{NS}}}"


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Store, Path]:
    """The team's project and its export."""
    store = coded_project(tmp_path)
    out = tmp_path / "study.qdpx"
    export_qdpx(store, CB, out)
    return store, out


def _qde(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as zf:
        return ET.fromstring(zf.read("project.qde"))


def test_project_qde_validates_against_the_schema(exported: tuple[Store, Path]) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    with zipfile.ZipFile(exported[1]) as zf:
        xmlschema.XMLSchema(str(XSD)).validate(zf.read("project.qde").decode("utf-8"))


def test_layout_is_project_qde_at_the_root_and_one_text_file_per_source(exported: tuple[Store, Path]) -> None:
    store, path = exported
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        root = ET.fromstring(zf.read("project.qde"))
        sources = root.findall(f"{Q}Sources/{Q}TextSource")
        assert "project.qde" in names
        assert sorted(n for n in names if n != "project.qde") == sorted(
            f"sources/{s.get('guid')}.txt" for s in sources)
        for s in sources:
            assert s.get("plainTextPath") == f"internal://{s.get('guid')}.txt"
            post = store.post_by_label(s.get("name") or "")
            assert post is not None  # named by the pseudonymous label
            expected, _ = plain_text(post["title"], post["text"])
            assert zf.read(f"sources/{s.get('guid')}.txt").decode("utf-8") == expected
    # Posts with any decision: 0, 1, 2 (judged irrelevant) by alice, 3 by bob; 4 and 5 untouched.
    assert len(sources) == 4


def test_offsets_are_code_points_with_chinese_and_emoji(exported: tuple[Store, Path]) -> None:
    store, path = exported
    post = store.post(pid(store, 0))
    assert post is not None
    sguid = source_guid(post["platform"], post["platform_id"])
    with zipfile.ZipFile(path) as zf:
        text = zf.read(f"sources/{sguid}.txt").decode("utf-8")
        root = ET.fromstring(zf.read("project.qde"))
    src = next(s for s in root.iter(f"{Q}TextSource") if s.get("guid") == sguid)
    spans = {(int(s.get("startPosition") or -1), int(s.get("endPosition") or -1))
             for s in src.findall(f"{Q}PlainTextSelection")}
    quoted = sorted(text[a:b] for a, b in spans if a > 0)
    assert quoted == sorted(["我被骗到缅北了😭。", "🙏 Please help me.", "👨\u200d👩\u200d👧 家人在找我。"])
    assert (0, len(text)) in spans  # post-level codes cover the whole text
    assert text.endswith(EMOJI_TEXT)


def test_a_post_level_code_has_one_coding_per_coder_with_the_event_time(exported: tuple[Store, Path]) -> None:
    store, path = exported
    root = _qde(path)
    alice, bob = user_guid(store.meta("project_id") or "", "alice"), user_guid(store.meta("project_id") or "", "bob")
    post = store.post(pid(store, 0))
    assert post is not None
    sguid = source_guid(post["platform"], post["platform_id"])
    src = next(s for s in root.iter(f"{Q}TextSource") if s.get("guid") == sguid)
    teen = [s for s in src.findall(f"{Q}PlainTextSelection") if s.get("startPosition") == "0"
            and s.find(f"{Q}Coding/{Q}CodeRef").get("targetGUID") == guid(TEEN)]  # type: ignore[union-attr]
    assert len(teen) == 1
    codings = teen[0].findall(f"{Q}Coding")
    assert {c.get("creatingUser") for c in codings} == {alice, bob}
    times = {store.state(c, post["id"]).codes[TEEN] for c in ("alice", "bob")}
    assert {c.get("creationDateTime") for c in codings} == times


def test_users_are_coder_names_with_stable_guids_and_no_author(exported: tuple[Store, Path], tmp_path: Path) -> None:
    store, path = exported
    root = _qde(path)
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{Q}User")}
    pid_ = store.meta("project_id") or ""
    assert users == {"alice": user_guid(pid_, "alice"), "bob": user_guid(pid_, "bob")}
    assert users["alice"] == str(uuid.uuid5(uuid.UUID("6f1c1f2e-8a3b-5d7e-9c41-0b2a7e5d3c10"), f"user:{pid_}\x00alice"))
    again = tmp_path / "again.qdpx"
    export_qdpx(store, CB, again)
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(again) as b:
        assert a.read("project.qde") == b.read("project.qde")  # same project, same bytes
        blob = b"".join(a.read(n) for n in a.namelist())
    assert b"AUTHOR-NICKNAME" not in blob and b"creator" not in blob


def test_codebook_guids_are_those_of_the_qdc_export(exported: tuple[Store, Path]) -> None:
    root = _qde(exported[1])
    codes = {c.get("guid"): c for c in root.iter(f"{Q}Code")}
    for node in CB.nodes():
        assert guid(node.id) in codes
        assert codes[guid(node.id)].get("isCodable") == ("false" if node.level == 1 else "true")


def test_memos_are_notes_and_relevance_and_flags_are_variables(exported: tuple[Store, Path]) -> None:
    root = _qde(exported[1])
    notes = {n.get("guid"): n for n in root.iter(f"{Q}Note")}
    assert sorted((n.findtext(f"{Q}PlainTextContent") or "") for n in notes.values()) == [
        "bob's memo", "备忘 with emoji 🙏\nsecond line"]
    refs = [r.get("targetGUID") for s in root.iter(f"{Q}TextSource") for r in s.findall(f"{Q}NoteRef")]
    assert sorted(refs) == sorted(notes)
    names = {v.get("guid"): v.get("name") for v in root.iter(f"{Q}Variable")}
    values = [(names[v.find(f"{Q}VariableRef").get("targetGUID")], v[1].text)  # type: ignore[union-attr]
              for v in root.iter(f"{Q}VariableValue")]
    assert ("relevant (alice)", "false") in values and ("flagged (alice)", "true") in values
    assert ("relevant (bob)", "true") in values and ("crawl keyword", "缅北") in values


def test_no_control_sequence_reaches_the_archive(exported: tuple[Store, Path]) -> None:
    with zipfile.ZipFile(exported[1]) as zf:
        for name in zf.namelist():
            text = zf.read(name).decode("utf-8")
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), name


def test_quote_after_a_control_sequence_keeps_its_sentence(exported: tuple[Store, Path]) -> None:
    store, path = exported
    post = store.post(pid(store, 1))
    assert post is not None
    sguid = source_guid(post["platform"], post["platform_id"])
    with zipfile.ZipFile(path) as zf:
        text = zf.read(f"sources/{sguid}.txt").decode("utf-8")
        root = ET.fromstring(zf.read("project.qde"))
    src = next(s for s in root.iter(f"{Q}TextSource") if s.get("guid") == sguid)
    quotes = [s for s in src.findall(f"{Q}PlainTextSelection") if s.get("startPosition") != "0"]
    spans = [(int(s.get("startPosition") or 0), int(s.get("endPosition") or 0)) for s in quotes]
    assert [text[a:b] for a, b in spans] == ["第二句有控制符！"]


def test_options_coder_consensus_and_relevant_only(exported: tuple[Store, Path], tmp_path: Path) -> None:
    store, _ = exported
    only_bob = export_qdpx(store, CB, tmp_path / "bob.qdpx", coders=["bob"])
    assert only_bob.users == ["bob"] and only_bob.sources == 2 and only_bob.notes == 1
    relevant = export_qdpx(store, CB, tmp_path / "rel.qdpx", relevant_only=True)
    assert relevant.sources == 3  # post 2 was judged irrelevant and nobody else decided on it
    with pytest.raises(QdpxExportError, match="nothing to export"):
        export_qdpx(store, CB, tmp_path / "none.qdpx", coders=["consensus"])
    assert not (tmp_path / "none.qdpx").exists()


def test_well_being_records_never_leave(exported: tuple[Store, Path], tmp_path: Path) -> None:
    store, _ = exported
    with store.write() as conn:
        conn.execute("INSERT INTO wb_log (coder, kind, at, day, minutes, detail) VALUES "
                     "('alice', 'checkin', '2026-01-01T00:00:00.000Z', '2026-01-01', 5, 'WELLBEING-SECRET')")
    out = tmp_path / "wb.qdpx"
    export_qdpx(store, CB, out)
    with zipfile.ZipFile(out) as zf:
        assert not any(b"WELLBEING-SECRET" in zf.read(n) for n in zf.namelist())


def test_markup_characters_in_names_and_memos_are_escaped(tmp_path: Path) -> None:
    store = coded_project(tmp_path)
    odd = 'o"<&>\'x'
    from tui.core.coding.session import Session

    s = Session(store, CB, odd)
    s.go_post(pid(store, 4))
    s.set_relevance(1)
    s.add_code(TEEN)
    s.set_memo('a "memo" with <tags> & ]]> and\ttabs')
    out = tmp_path / "odd.qdpx"
    export_qdpx(store, CB, out)
    root = _qde(out)
    assert odd in {u.get("name") for u in root.iter(f"{Q}User")}
    assert 'a "memo" with <tags> & ]]> and\ttabs' in {n.findtext(f"{Q}PlainTextContent") for n in root.iter(f"{Q}Note")}
    xmlschema = pytest.importorskip("xmlschema")
    with zipfile.ZipFile(out) as zf:
        xmlschema.XMLSchema(str(XSD)).validate(zf.read("project.qde").decode("utf-8"))


def test_the_streaming_zip_writer_is_read_by_zipfile_and_unzip(tmp_path: Path) -> None:
    import os
    import random
    import shutil
    import subprocess

    from tui.core.report.zipstream import ZipStreamWriter

    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(1).randbytes(300_000) + "缅北😭".encode() * 50_000)
    n = 70_000  # past 65,535 members: the Zip64 end records
    out = tmp_path / "many.zip"
    with open(out, "wb") as fh, open(tmp_path / "cd", "w+b") as cd:
        zw = ZipStreamWriter(fh, cd)
        zw.add_file("project.qde", big)
        for i in range(n):
            zw.add(f"sources/{i}.txt", f"第{i}条 🙂".encode())
        zw.close()
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert len(zf.namelist()) == n + 1
        assert zf.read("project.qde") == big.read_bytes()
        assert zf.read("sources/69999.txt").decode() == "第69999条 🙂"
    if shutil.which("unzip") and os.name == "posix":
        assert subprocess.run(["unzip", "-tq", str(out)], capture_output=True).returncode == 0
