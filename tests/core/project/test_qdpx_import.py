"""Importing a REFI-QDA project (.qdpx): the round trip, a file as ATLAS.ti 23 writes it, and hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qdpx_helpers import (
    ATLAS_SOURCE,
    ATLAS_TEXT,
    XSD,
    atlas_qde,
    atlas_qdpx,
    by_platform_id,
    coded_project,
    write_zip,
)
from tests.sync_helpers import CB, DOCS, counts, pid, snapshot
from tui.core.codebook.loading import load_codebook
from tui.core.coding.sentences import shown_sentences
from tui.core.project import qdpx_read
from tui.core.project.events import CODE_ADD
from tui.core.project.qdpx import QdpxImportError, import_qdpx
from tui.core.project.store import Store
from tui.core.report.qdpx import export_qdpx, source_guid


def _import(store: Store, path: Path, **kw: object) -> object:
    return import_qdpx(store, path, codebook=CB, sentences=shown_sentences, **kw)  # type: ignore[arg-type]


def test_round_trip_keeps_codes_quotes_memos_per_coder(tmp_path: Path) -> None:
    team = coded_project(tmp_path)
    out = tmp_path / "study.qdpx"
    export_qdpx(team, CB, out)
    fresh = Store(tmp_path / "fresh.db")
    result = _import(fresh, out)
    assert result.posts == 4 and result.codebook_path is None  # type: ignore[attr-defined]
    before = by_platform_id(team)
    mapped = {(coder, source_guid("xhs", key)): v for (coder, key), v in before.items()}
    after = by_platform_id(fresh)
    # The one post with a terminal control sequence loses it (no output file carries one), so its quote
    # span counts four fewer characters; every other span, code, memo and decision is the same.
    hostile = ("alice", source_guid("xhs", f"{1:024x}"))
    assert after[hostile][1] == [(4, 12, DOCS, "第二句有控制符！")]
    assert mapped[hostile][1] == [(4, 16, DOCS, "\x1b[2J第二句有控制符！")]
    assert {k: v for k, v in after.items() if k != hostile} == {k: v for k, v in mapped.items() if k != hostile}
    assert after[hostile][0] == mapped[hostile][0] and after[hostile][2:] == mapped[hostile][2:]
    quotes = {q[3] for v in mapped.values() for q in v[1]}
    assert {"我被骗到缅北了😭。", "🙏 Please help me.", "👨\u200d👩\u200d👧 家人在找我。"} <= quotes
    post = fresh.post_by_label(team.post(pid(team, 0))["label"])  # type: ignore[index]
    assert post is None  # new labels are drawn, never copied
    again = _import(fresh, out)
    assert again.posts == 0 and again.already == 4  # type: ignore[attr-defined]


def test_the_atlas_ti_shaped_file_is_valid_against_the_schema() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(XSD)).validate(atlas_qde())


def test_source_file_names_are_matched_whatever_their_case(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "lower.qdpx", {"project.qde": atlas_qde(),
                                               f"sources/{ATLAS_SOURCE.lower()}.txt": ATLAS_TEXT})
    store = Store(tmp_path / "p.db")
    assert _import(store, path, codebook_out=tmp_path / "cb.yaml").posts == 1  # type: ignore[attr-defined]


def test_a_file_written_by_atlas_ti_imports(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    book = tmp_path / "codebook.yaml"
    result = _import(store, atlas_qdpx(tmp_path / "atlas.qdpx"), codebook_out=book)
    assert result.posts == 1  # type: ignore[attr-defined]
    assert any("external" in s for s in result.skipped)  # type: ignore[attr-defined]
    assert any("PictureSource" in s for s in result.skipped)  # type: ignore[attr-defined]
    cb = load_codebook(book)
    post = store.posts()[0]
    assert post["platform"] == "qdpx" and post["platform_id"] == ATLAS_SOURCE.lower()
    assert post["text"] == ATLAS_TEXT and post["title"] == "Interview 1.docx"
    st = store.state("Dana", post["id"])
    names = sorted(cb.node(c).name for c in st.codes)  # type: ignore[union-attr]
    assert names == ["Interview", "Seized passport"]
    assert [(q.start, q.end, q.text) for q in st.quotes] == [(15, 22, "我失去了护照。")]  # the whole sentence
    assert st.memo == "Dana's memo: follow up 🙏"
    events = store.events(coder="Dana")
    assert {e["at"] for e in events if e["kind"] == CODE_ADD} == {"2024-03-05T10:13:00.000Z",
                                                                   "2024-03-05T10:14:00.000Z"}
    assert all(e["codebook_hash"] == cb.hash for e in events if e["kind"] == CODE_ADD)


def test_a_different_codebook_is_refused_when_the_project_has_codings(tmp_path: Path) -> None:
    store = coded_project(tmp_path)
    before = snapshot(store)
    with pytest.raises(QdpxImportError, match="--merge"):
        _import(store, atlas_qdpx(tmp_path / "atlas.qdpx"), codebook_out=tmp_path / "new.yaml")
    assert snapshot(store) == before and not (tmp_path / "new.yaml").exists()


def test_merge_maps_codes_by_guid_then_name(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    qde = atlas_qde().replace('name="Seized passport"', 'name="seized documentation AND personal possessions"')
    result = _import(store, atlas_qdpx(tmp_path / "a.qdpx", qde), merge=True)
    post = store.posts()[0]
    assert list(store.state("Dana", post["id"]).codes) == [DOCS]  # by name, case-insensitive
    assert any("match no code" in n for n in result.notes)  # type: ignore[attr-defined]


def test_an_existing_codebook_file_is_never_overwritten(tmp_path: Path) -> None:
    store = Store(tmp_path / "p.db")
    book = tmp_path / "codebook.yaml"
    book.write_text("mine", encoding="utf-8")
    with pytest.raises(QdpxImportError, match="already exists"):
        _import(store, atlas_qdpx(tmp_path / "atlas.qdpx"), codebook_out=book)
    assert book.read_text(encoding="utf-8") == "mine" and store.count_posts() == 0


# ---------------------------------------------------------------- hostile files


def _bomb(path: Path) -> Path:
    return write_zip(path, {"project.qde": atlas_qde(), f"sources/{ATLAS_SOURCE}.txt": b"\0" * (20 << 20)})


def _traversal(path: Path) -> Path:
    return write_zip(path, {"project.qde": atlas_qde(), "../../evil.txt": "x"})


def _absolute(path: Path) -> Path:
    return write_zip(path, {"project.qde": atlas_qde(), "/etc/evil": "x"})


def _doctype(path: Path) -> Path:
    xxe = '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' \
          '<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>'
    return write_zip(path, {"project.qde": xxe})


def _billion_laughs(path: Path) -> Path:
    lol = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>' \
          '<Project name="&b;"/>'
    return write_zip(path, {"project.qde": lol})


def _not_zip(path: Path) -> Path:
    path.write_text("<Project/>", encoding="utf-8")
    return path


def _no_qde(path: Path) -> Path:
    return write_zip(path, {"sources/a.txt": "x"})


def _missing_source(path: Path) -> Path:
    return write_zip(path, {"project.qde": atlas_qde()})


def _not_utf8(path: Path) -> Path:
    return atlas_qdpx(path, **{f"sources/{ATLAS_SOURCE}.txt": b"\xff\xfe\x00bad"})


def _not_project(path: Path) -> Path:
    return write_zip(path, {"project.qde": '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>'})


def _broken_xml(path: Path) -> Path:
    return write_zip(path, {"project.qde": "<Project name='x'><Sources>"})


HOSTILE = {
    "zip bomb": (_bomb, "zip bomb"),
    "path traversal": (_traversal, "points outside the archive"),
    "absolute member": (_absolute, "points outside the archive"),
    "XXE": (_doctype, "DOCTYPE"),
    "billion laughs": (_billion_laughs, "DOCTYPE"),
    "not a zip": (_not_zip, "not a zip archive"),
    "no project.qde": (_no_qde, "no project.qde"),
    "missing source": (_missing_source, "does not hold that file"),
    "not UTF-8": (_not_utf8, "not UTF-8"),
    "not a project": (_not_project, "not a REFI-QDA project"),
    "broken XML": (_broken_xml, "not well-formed"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_are_refused_in_one_sentence_and_nothing_is_written(case: str, tmp_path: Path) -> None:
    make, message = HOSTILE[case]
    store = coded_project(tmp_path)
    before, rows = snapshot(store), counts(store)
    with pytest.raises(QdpxImportError) as err:
        _import(store, make(tmp_path / "hostile.qdpx"), merge=True, codebook_out=tmp_path / "cb.yaml")
    text = str(err.value)
    assert message in text
    assert "\n" not in text and text.endswith(".") and text.count(". ") == 0, text
    assert snapshot(store) == before and counts(store) == rows and not (tmp_path / "cb.yaml").exists()


def test_huge_files_are_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "p.db")
    path = atlas_qdpx(tmp_path / "atlas.qdpx")
    monkeypatch.setattr(qdpx_read, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(QdpxImportError, match="over the"):
        _import(store, path)
    monkeypatch.undo()
    monkeypatch.setattr(qdpx_read, "MAX_MEMBER_BYTES", 40)
    with pytest.raises(QdpxImportError, match="limit for one file"):
        _import(store, path)
    monkeypatch.undo()
    monkeypatch.setattr(qdpx_read, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(QdpxImportError, match="would inflate"):
        _import(store, path)
    assert store.count_posts() == 0


def test_a_highly_compressible_member_is_refused_as_a_bomb(tmp_path: Path) -> None:
    # 3 MiB of one letter deflates about a thousand times: far past any real text's ratio.
    path = atlas_qdpx(tmp_path / "atlas.qdpx", **{f"sources/{ATLAS_SOURCE}.txt": "a" * (3 << 20)})
    store = Store(tmp_path / "p.db")
    with pytest.raises(QdpxImportError, match="zip bomb"):
        _import(store, path, codebook_out=tmp_path / "cb.yaml")
    assert store.count_posts() == 0 and not (tmp_path / "cb.yaml").exists()


def test_round_trip_of_the_sample_corpus_coded_by_two_coders(tmp_path: Path) -> None:
    from tests.samples import SAMPLE
    from tui.core.coding.session import Session
    from tui.core.project.ingest import import_file

    team = Store(tmp_path / "sample.db")
    import_file(team, SAMPLE)
    leaves = [c.id for c in CB.codes()]
    ids = team.post_ids()[:40]
    for k, coder in enumerate(("alice", "bob")):
        s = Session(team, CB, coder)
        for n, p in enumerate(ids[k * 10:k * 10 + 30]):
            s.go_post(p)
            s.set_relevance(0 if n % 7 == 3 else 1)
            if n % 7 == 3:
                continue
            for j in range(1 + n % 3):
                s.add_code(leaves[(n * 5 + j * 11 + k) % len(leaves)])
            codes = list(s.current.state.codes)  # type: ignore[union-attr]
            for q in range(min(2, len(s.current.sentences))):  # type: ignore[union-attr]
                s.toggle_quote((q * 2 + n) % len(s.current.sentences), codes[q % len(codes)])  # type: ignore[union-attr]
            if n % 2:
                s.set_memo(f"{coder} 的备忘 {n} 🙂")
            if n % 5 == 0:
                s.toggle_flag()
            s.set_done(True)
    out = tmp_path / "sample.qdpx"
    export_qdpx(team, CB, out)
    fresh = Store(tmp_path / "fresh.db")
    _import(fresh, out)
    mapped = {(c, source_guid("xhs", k)): v for (c, k), v in by_platform_id(team).items()}
    assert len(mapped) == 60 and sum(len(v[1]) for v in mapped.values()) > 60
    assert by_platform_id(fresh) == mapped


def test_names_from_the_file_cannot_become_unusable_coders(tmp_path: Path) -> None:
    long = "x" * 80
    qde = atlas_qde().replace('name="Dana" id="DA"', f'name="{long}"').replace(
        "<Sources>", '<Variables><Variable guid="F0000000-0000-4000-8000-000000000001" '
        f'name="relevant ({long})" typeOfVariable="Boolean"/></Variables><Sources>').replace(
        '<NoteRef targetGUID="D0000000-0000-4000-8000-000000000001" />',
        '<NoteRef targetGUID="D0000000-0000-4000-8000-000000000001" /><VariableValue><VariableRef '
        'targetGUID="F0000000-0000-4000-8000-000000000001"/><BooleanValue>true</BooleanValue></VariableValue>')
    store = Store(tmp_path / "p.db")
    _import(store, atlas_qdpx(tmp_path / "a.qdpx", qde), codebook_out=tmp_path / "cb.yaml")
    assert store.coders() == ["x" * 64]  # the user name cut to the limit; the 80-character variable left out
