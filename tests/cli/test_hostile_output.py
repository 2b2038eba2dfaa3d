"""No report, export or codebook file, and no terminal table, carries a control sequence from data.

Coder names and code ids arrive in other coders' files; post text, memos and quotes are untrusted; a
codebook may hold control characters through YAML escapes. They are put straight into a real project
database here, as a merge would, and every writer in every format is checked byte by byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.samples import ROOT, xhs_note
from tui.cli import cli
from tui.core.project.events import Event
from tui.core.project.store import Store

# OSC 52 (clipboard write), CSI, bare CR, BEL, NUL, a C1 CSI, a bidi override, and markup.
EVIL = ("\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[31mred\rover\x07bell\x00nul\x9b31mc1\u202eevil\u2066iso"
        "[/][@click=app.quit]x")
YAML_EVIL = r"\e]52;c;cm0gLXJmIH4=\a\e[2J\e[31mred\rover\abell\0nul\x9b31mc1\u202eevil\u2066iso[/]x"
CODER = "eve" + EVIL
UNKNOWN = "gone/" + EVIL
RANSOM, TORTURE = "targeting/financial-instability/ransom", "control/physical-abuse/torture"
# Anything that a terminal or a viewer would act on: C0 but tab and newline, DEL, C1, bidi controls.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

SECTIONS = {
    "frequencies": ("md", "csv", "json", "latex"),
    "cooccurrence": ("md", "csv", "json", "latex"),
    "saturation": ("md", "csv", "json", "latex"),
    "quotes": ("md", "csv", "json", "latex"),
    "screening": ("md", "csv", "json", "latex"),
    "anchoring": ("md", "csv", "json", "latex"),
    "all": ("md", "json", "latex"),
}
CASES = [[s, "--format", f] for s, fmts in SECTIONS.items() for f in fmts] + [
    ["cooccurrence", "--matrix", "--format", "csv"],
    ["codings", "--format", "csv"], ["codings", "--format", "json"], ["codings", "--wide", "--format", "csv"],
    ["saturation", "--coder", CODER, "--format", "md"], ["quotes", "--coder", CODER, "--format", "latex"],
]


def hostile_codebook(folder: Path) -> Path:
    """The study codebook with control characters (as YAML escapes) in its name, a category and a code."""
    text = (ROOT / "codebook.yaml").read_text(encoding="utf-8")
    text = text.replace('name: "Recruitment — Targeting"', f'name: "Recruitment{YAML_EVIL}"', 1)
    text = text.replace("            name: Ransom\n", f'            name: "Ransom{YAML_EVIL}"\n', 1)
    text = text.replace('name: "Scam-driven human trafficking (RedNote study)"', f'name: "Study{YAML_EVIL}"', 1)
    path = folder / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A project as after merging a hostile coder's file: names, ids, memos, quotes and post text."""
    folder = tmp_path_factory.mktemp("hostile")
    book = hostile_codebook(folder)
    src = folder / "notes.json"
    src.write_text(json.dumps([xhs_note(i) for i in range(4)], ensure_ascii=False), encoding="utf-8")
    db = folder / "p.db"
    assert invoke(db, book, "import", str(src)).exit_code == 0
    store = Store(db)
    ids = store.post_ids(order="id")
    with store.db.conn:
        store.db.conn.execute("UPDATE posts SET title = ?, text = ?", (EVIL, "缅北 " + EVIL))
        for pid in ids:
            store.db.conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score) "
                                  "VALUES (?, 'relevance', '', 0.8)", (pid,))
    for n, pid in enumerate(ids):
        for coder in ("alice", CODER):
            at = f"2025-01-01T10:{n:02d}:0{coder == CODER:d}.000Z"
            arm = "shown" if n % 2 else "blind"  # both arms, so the anchoring report has both
            store.record(Event(coder, pid, "relevance", value="1", at=at, arm=arm))
            for code in (RANSOM, TORTURE, UNKNOWN):
                store.record(Event(coder, pid, "code_add", code_id=code, at=at, arm=arm))
            store.record(Event(coder, pid, "memo", value="memo " + EVIL, at=at, arm=arm))
            store.record(Event(coder, pid, "quote_add", code_id=UNKNOWN if n % 2 else RANSOM, at=at, arm=arm,
                               value=json.dumps({"start": 0, "end": 3, "text": "quote " + EVIL})))
            store.record(Event(coder, pid, "done", value="1", at=at, arm=arm))
    store.close()
    return db, book


def invoke(db: Path, book: Path, *args: str) -> Any:
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["--db", str(db), "--codebook", str(book), *args])


def assert_clean_text(text: str, where: str) -> None:
    found = FORBIDDEN.findall(text)
    assert not found, f"{where} carries {sorted(set(found))!r}"


def assert_clean_file(path: Path) -> None:
    data = path.read_bytes()
    assert data, path
    assert b"\r" not in data and b"\x1b" not in data and b"\x07" not in data and b"\x00" not in data
    text = data.decode("utf-8")
    assert_clean_text(text, path.name)
    if path.suffix == ".json":
        # A JSON string escape (\u001b) is a control character again for whoever reads the file.
        def walk(obj: Any) -> None:
            if isinstance(obj, dict):
                for k, v in obj.items():
                    assert_clean_text(k, f"a key in {path.name}")
                    walk(v)
            elif isinstance(obj, list):
                for v in obj:
                    walk(v)
            elif isinstance(obj, str):
                assert_clean_text(obj, f"a value in {path.name}")
        walk(json.loads(text))


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(a for a in c if a != CODER and a != "--format"))
def test_every_report_file_is_clean(project: tuple[Path, Path], tmp_path: Path, case: list[str]) -> None:
    db, book = project
    ext = {"md": ".md", "csv": ".csv", "json": ".json", "latex": ".tex"}[case[-1]]
    out = tmp_path / f"report{ext}"
    result = invoke(db, book, "report", *case, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_clean_file(out)
    printed = invoke(db, book, "report", *case)  # the same format printed to the terminal
    assert printed.exit_code == 0, printed.output
    assert_clean_text(printed.output, "the printed report")


@pytest.mark.parametrize("section", ["frequencies", "cooccurrence", "saturation", "quotes", "screening", "anchoring",
                                     "all"])
def test_terminal_tables_are_clean(project: tuple[Path, Path], section: str) -> None:
    db, book = project
    result = invoke(db, book, "report", section)
    assert result.exit_code == 0, result.output
    assert_clean_text(result.output, f"report {section} on the terminal")


def test_the_hostile_data_reaches_the_reports(project: tuple[Path, Path], tmp_path: Path) -> None:
    """The test above would pass on an empty report: check the hostile values are really in there."""
    db, book = project
    out = tmp_path / "r.md"
    assert invoke(db, book, "report", "all", "-o", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "eve" in text and "gone/" in text and "quote" in text and "Recruitment" in text
    # the whole OSC sequence goes, payload included; the printable text around it stays
    assert "cm0gLXJmIH4" not in text and "bellnul" in text and "evil" in text
    codings = tmp_path / "c.csv"
    assert invoke(db, book, "report", "codings", "-o", str(codings)).exit_code == 0
    assert "gone/" in codings.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt,ext", [("md", ".md"), ("latex", ".tex"), ("qdc", ".qdc")])
def test_codebook_exports_are_clean(project: tuple[Path, Path], tmp_path: Path, fmt: str, ext: str) -> None:
    db, book = project
    out = tmp_path / f"codebook{ext}"
    result = invoke(db, book, "codebook", "export", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_clean_file(out)
    assert "Ransom" in out.read_text(encoding="utf-8")
    assert_clean_text(invoke(db, book, "codebook", "export", "--format", fmt).output, "the printed codebook")


def test_a_hostile_qdc_imports_clean(project: tuple[Path, Path], tmp_path: Path) -> None:
    db, book = project
    qdc = tmp_path / "evil.qdc"
    refs = "&#x9b;31m&#x202e;evil&#x2066;[/]"  # XML 1.0 allows these, unlike C0 controls
    qdc.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="tool{refs}"><Codes>'
        f'<Code guid="a" name="Cat{refs}" isCodable="false">'
        f'<Code guid="b" name="Code{refs}" isCodable="true"><Description>Def{refs}</Description></Code>'
        "</Code></Codes></CodeBook>\n", encoding="utf-8")
    out = tmp_path / "imported.yaml"
    result = invoke(db, book, "codebook", "import", str(qdc), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_clean_file(out)
    assert_clean_text(result.output, "the import summary")


def test_lookup_plain_is_clean(project: tuple[Path, Path]) -> None:
    db, book = project
    result = invoke(db, book, "lookup", "--plain", "ransom")
    assert result.exit_code == 0 and "Ransom" in result.output
    assert_clean_text(result.output, "lookup --plain")
