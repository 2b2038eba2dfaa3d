"""REFI-QDA `.qdc` export and import, and the codebook appendix in Markdown and LaTeX."""

from __future__ import annotations

import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.samples import ROOT
from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.model import Codebook
from tui.core.codebook.qdc import GUID_NAMESPACE, NS, QdcError, export_qdc, guid, import_qdc, parse_qdc, slugify
from tui.core.report.export import codebook_latex, codebook_markdown

XSD = ROOT / "tests" / "data" / "refi-qda" / "Codebook.xsd"
STUDY = ROOT / "codebook.yaml"
Q = f"{{{NS}}}"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


@pytest.fixture(scope="module")
def study() -> Codebook:
    return load_codebook(STUDY)


def write(tmp_path: Path, body: str, name: str = "in.qdc") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def qdc(codes: str) -> str:
    head = f'<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="{NS}" origin="QualCoder 3.5">'
    return f"{head}<Codes>{codes}</Codes></CodeBook>"


def test_schema_copy_is_the_upstream_file() -> None:
    digest = hashlib.sha256(XSD.read_bytes()).hexdigest()
    assert digest == "62a941a02df90991fd9e18bd97c571b88e3c493a722ef1e45a7247f787849c75"


def test_export_is_valid_refi_qda(study: Codebook, schema: xmlschema.XMLSchema) -> None:
    text = export_qdc(study)
    schema.validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{Q}CodeBook" and root.find(f"{Q}Sets") is None  # never an empty <Sets/>
    cats = root.findall(f"{Q}Codes/{Q}Code")
    assert [c.get("name") for c in cats] == [c.name for c in study.categories]
    assert {c.get("isCodable") for c in cats} == {"false"}
    codes = [c for cat in cats for c in cat.findall(f"{Q}Code")]
    subs = [s for c in codes for s in c.findall(f"{Q}Code")]
    assert (len(codes), len(subs)) == (52, 91)
    assert {c.get("isCodable") for c in codes + subs} == {"true"}
    assert all(c.find(f"{Q}Code/{Q}Code") is None for c in subs)
    first = study.categories[0].codes[0]
    assert codes[0].get("guid") == str(uuid.uuid5(GUID_NAMESPACE, first.id)) == guid(first.id)
    assert codes[0].findtext(f"{Q}Description") == first.definition
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c.get("color")) for c in cats + codes + subs)
    assert cats[0].get("color") == study.categories[0].colour.upper()
    assert len({c.get("guid") for c in cats + codes + subs}) == 9 + 52 + 91


def test_two_exports_agree_byte_for_byte(study: Codebook) -> None:
    again = load_codebook(STUDY)
    assert export_qdc(study).encode() == export_qdc(again).encode()


def test_round_trip_keeps_names_definitions_and_shape(study: Codebook, tmp_path: Path) -> None:
    path = write(tmp_path, export_qdc(study), "study.qdc")
    got = import_qdc(path)
    cb = got.codebook
    assert cb.counts() == (9, 52, 91) and got.notes == []
    assert [c.name for c in cb.codes()] == [c.name for c in study.codes()]
    assert [c.definition for c in cb.codes()] == [c.definition for c in study.codes()]
    assert [c.colour for c in cb.categories] == [c.colour for c in study.categories]
    assert [c.key for c in cb.categories] == list("123456789")
    for cat in cb.categories:
        keys = [c.key for c in cat.codes]
        assert len(set(keys)) == len(keys) and not set(keys) & set("quxz")
    assert len({c.id for c in cb.codes()}) == 52 + 91
    # the written YAML loads on its own, as `qualtui codebook check` would
    assert parse_codebook(got.yaml_text).counts() == (9, 52, 91)


def test_import_from_another_tool(tmp_path: Path) -> None:
    body = qdc(
        '<Code guid="{11111111-2222-3333-4444-555555555555}" name="Recruitment &amp; lures" isCodable="true" '
        'color="#f0a">'
        '<Description>How people are drawn in.</Description>'
        '<Code guid="21111111-2222-3333-4444-555555555555" name="Job ads" isCodable="true">'
        '<Code guid="31111111-2222-3333-4444-555555555555" name="High pay" isCodable="true"/>'
        '<Code guid="41111111-2222-3333-4444-555555555555" name="High pay" isCodable="true"/>'
        '</Code><Code guid="51111111-2222-3333-4444-555555555555" name="高薪招聘" isCodable="true"/>'
        '</Code>'
        '<Code guid="61111111-2222-3333-4444-555555555555" name="Memo-worthy" isCodable="true"/>'
    )
    got = import_qdc(write(tmp_path, body), name="Team codebook")
    cb = got.codebook
    assert cb.name == "Team codebook" and cb.counts() == (2, 3, 2)
    cat = cb.categories[0]
    assert (cat.id, cat.name, cat.key, cat.colour) == ("recruitment-lures", "Recruitment & lures", "1", "#ff00aa")
    job = cat.codes[0]
    assert job.id == "recruitment-lures/job-ads" and job.key == "j"
    assert [s.id for s in job.subcodes] == ["recruitment-lures/job-ads/high-pay",
                                            "recruitment-lures/job-ads/high-pay-2"]
    assert [s.key for s in job.subcodes] == ["h", "i"]
    assert cat.codes[1].id == "recruitment-lures/code-2" and cat.codes[1].name == "高薪招聘"
    assert "No definition" in job.definition
    loose = cb.categories[1]
    assert loose.name == "Uncategorised codes" and loose.codes[0].name == "Memo-worthy"
    assert any("Uncategorised" in n for n in got.notes) and any("codable" in n for n in got.notes)


def test_project_file_codebook_and_no_namespace(tmp_path: Path) -> None:
    body = ('<Project name="x"><CodeBook><Codes><Code guid="11111111-2222-3333-4444-555555555555" name="A" '
            'isCodable="false"><Code guid="21111111-2222-3333-4444-555555555555" name="B" isCodable="true"/>'
            '</Code></Codes></CodeBook></Project>')
    assert import_qdc(write(tmp_path, body)).codebook.counts() == (1, 1, 0)


@pytest.mark.parametrize(("body", "message"), [
    ("this is not xml at all", "not well-formed XML"),
    ("", "empty"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
     f'<CodeBook xmlns="{NS}"><Codes/></CodeBook>', "DOCTYPE or entities"),
    (f'<!DOCTYPE x SYSTEM "file:///etc/passwd"><CodeBook xmlns="{NS}"><Codes/></CodeBook>', "DOCTYPE"),
    (f'<CodeBook xmlns="{NS}"></CodeBook>', "no <Codes>"),
    (f'<CodeBook xmlns="{NS}"><Codes></Codes></CodeBook>', "no <Codes>"),
    ("<html><body>hi</body></html>", "not a REFI-QDA codebook"),
    (qdc('<Code guid="11111111-2222-3333-4444-555555555555" name="A" isCodable="false">'
         '<Code guid="21111111-2222-3333-4444-555555555555" name="B" isCodable="true">'
         '<Code guid="31111111-2222-3333-4444-555555555555" name="C" isCodable="true">'
         '<Code guid="41111111-2222-3333-4444-555555555555" name="D" isCodable="true"/>'
         '</Code></Code></Code>'), "4 levels deep (A › B › C › D)"),
])
def test_bad_qdc_files(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(QdcError, match=re.escape(message)):
        import_qdc(write(tmp_path, body))


def test_slugify() -> None:
    assert slugify("Over-reliance and overtrust", "x") == "over-reliance-and-overtrust"
    assert slugify("Café — naïve", "x") == "cafe-naive"
    assert slugify("缅北", "code-3") == "code-3"
    assert len(slugify("a" * 100, "x")) == 40


# ---------------------------------------------------------------- the appendix


def test_codebook_markdown_has_a_table_per_category(study: Codebook) -> None:
    md = codebook_markdown(study)
    assert md.count("| Code | Definition | Sub-code | Sub-code definition |") == 9
    assert "### Table 1. Recruitment — Targeting" in md
    fin = next(c for c in study.codes() if c.name == "Financial instability")
    row = next(line for line in md.splitlines() if line.startswith(f"| {fin.name} |"))
    assert fin.subcodes[0].name in row
    assert "| Drugs | " in md and "| — |" in md  # a code without sub-codes


def test_codebook_latex_escapes_specials_and_keeps_cjk() -> None:
    cb = parse_codebook("""
version: "1"
name: "A & B: 100% _tests_"
categories:
  - id: c
    name: "Cat #1 {x}"
    key: "1"
    colour: "#000000"
    codes:
      - id: c/a
        name: "Cost $5 ~ ^ \\\\ 赎金"
        key: a
        definition: "Uses 缅北 & 电诈 <tags>."
        subcodes:
          - {id: c/a/s, name: "Sub_one", key: s, definition: "50% off"}
""")
    tex = codebook_latex(cb)
    assert r"Cat \#1 \{x\}" in tex
    assert r"Cost \$5 \textasciitilde{} \textasciicircum{} \textbackslash{} 赎金" in tex
    assert r"Uses 缅北 \& 电诈 \textless{}tags\textgreater{}." in tex
    assert r"Sub\_one & 50\% off \\" in tex
    assert r"A \& B: 100\% \_tests\_" in tex
    assert tex.count(r"\begin{longtable}") == 1


def test_an_unknown_encoding_in_the_xml_declaration_is_one_sentence(tmp_path: Path) -> None:
    # Found by the fuzz test: expat asks Python for the codec and Python raises LookupError.
    raw = b'<?xml version="1.0" encoding="tf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>\n'
    with pytest.raises(QdcError, match="declares a text encoding that is not known"):
        parse_qdc(raw, "odd.qdc")
