"""`qualtui import`, `posts`, `sample`, `lookup`, `codebook check/show` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import CODEBOOK, HOSTILE, SAMPLE, xhs_note
from tui.cli import cli
from tui.core.project.store import Store


def run(*args: str) -> object:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)


def test_import_sample_then_posts_table(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    result = run("--db", str(db), "import", str(SAMPLE))
    assert result.exit_code == 0
    assert "read 200, imported 200, duplicates 0" in result.output
    again = run("--db", str(db), "import", str(SAMPLE))
    assert "imported 0, duplicates 200" in again.output
    table = run("--db", str(db), "posts", "--limit", "5")
    assert table.exit_code == 0 and "5 of 200 posts" in table.output and "P-" in table.output
    assert "***" not in table.output  # masked nicknames are never shown


def test_generic_csv_mapping_and_missing_column(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    src = tmp_path / "my.csv"
    src.write_text("post_id,body\n1,hello\n2,world\n", encoding="utf-8")
    ok = run("--db", str(db), "import", str(src), "--text-col", "body", "--id-col", "post_id",
             "--platform", "forum")
    assert ok.exit_code == 0 and "imported 2" in ok.output
    bad = run("--db", str(tmp_path / "b.db"), "import", str(src), "--text-col", "content", "--id-col", "post_id")
    assert bad.exit_code == 1
    assert "no column 'content'" in bad.output and "nothing was imported" in bad.output
    assert Store(tmp_path / "b.db").count_posts() == 0


@pytest.mark.parametrize("content", [b"[{\"note_id\": 1,", b"", "[{\"desc\": \"缅北\"}]".encode("gbk")])
def test_bad_file_exits_nonzero_without_traceback(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "bad.json"
    src.write_bytes(content)
    result = run("--db", str(tmp_path / "q.db"), "import", str(src))
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "Error:" in result.output
    assert Store(tmp_path / "q.db").count_posts() == 0


def test_directory_is_refused(tmp_path: Path) -> None:
    result = run("--db", str(tmp_path / "q.db"), "import", str(tmp_path))
    assert result.exit_code == 1 and "is a folder" in result.output


def _cli(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (a hang shows as a timeout, not a stuck test run)."""
    import os

    code = "from tui.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=timeout)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "posts.json"
    os.mkfifo(fifo)
    db = tmp_path / "q.db"
    try:
        result = _cli(tmp_path, "--db", str(db), "import", str(fifo), timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("qualtui import blocked on a FIFO")
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {fifo} is a named pipe; a file of posts must be a regular file; " \
                                    "nothing was imported."
    assert not db.exists()  # refused before the project was created


def test_concatenated_arrays_are_refused_with_one_sentence(tmp_path: Path) -> None:
    a = json.dumps([xhs_note(i) for i in range(3)]).encode()
    src = tmp_path / "all.json"
    src.write_bytes(a + json.dumps([xhs_note(i) for i in range(3, 6)]).encode())
    db = tmp_path / "q.db"
    result = run("--db", str(db), "import", str(src))
    assert result.exit_code == 1
    assert f"Error: all.json: unexpected data after the JSON array at byte {len(a)}; nothing was imported." \
        in result.output
    assert "Traceback" not in result.output
    s = Store(db)
    assert s.count_posts() == 0 and s.db.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_an_over_long_csv_field_is_one_sentence(tmp_path: Path) -> None:
    # Over the csv module's own default (128 KiB) and over the lowered line limit.
    src = tmp_path / "wide.csv"
    src.write_text("note_id,desc\n1,ok\n2,\"" + "x\n" * 60_000 + "\"\n", encoding="utf-8")
    code = ("import tui.core.project.readers as i; i.MAX_LINE_BYTES = 65536;"
            "from tui.cli import main; main()")
    import os

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    db = tmp_path / "q.db"
    result = subprocess.run([sys.executable, "-c", code, "--db", str(db), "import", str(src)],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().startswith("Error: wide.csv: line ")
    assert "has a field longer than the 64 KiB limit for one field; nothing was imported." in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert Store(db).count_posts() == 0


def test_hostile_titles_print_literally(tmp_path: Path) -> None:
    src = tmp_path / "h.json"
    src.write_text(json.dumps([xhs_note(i, title=h) for i, h in enumerate(HOSTILE)]), encoding="utf-8")
    db = tmp_path / "q.db"
    run("--db", str(db), "import", str(src))
    out = run("--db", str(db), "posts", "--limit", "50").output
    assert "[@click=app.quit]x" in out and "[B]bold" in out and "[$accent]x" in out
    assert "\x1b" not in out and "\x00" not in out


def test_lookup_english_chinese_and_typo() -> None:
    ransom = run("--codebook", str(CODEBOOK), "lookup", "ransom", "--plain")
    ids = [line.split("\t")[0] for line in ransom.output.splitlines()]
    assert {"targeting/financial-instability/ransom", "exploitation/financial-exploitation/ransom"} <= set(ids[:3])
    zh = run("--codebook", str(CODEBOOK), "lookup", "赎金", "--plain")
    assert "exploitation/financial-exploitation/ransom" in zh.output
    typo = run("--codebook", str(CODEBOOK), "lookup", "torure", "--plain")
    assert typo.output.splitlines()[0].startswith("control/physical-abuse")
    rich = run("--codebook", str(CODEBOOK), "lookup", "torture")
    assert "›" in rich.output and "4" in rich.output
    none = CliRunner().invoke(cli, ["--codebook", str(CODEBOOK), "lookup", "zzzxqv"])
    assert none.exit_code == 1


def test_lookup_does_not_import_textual(tmp_path: Path) -> None:
    code = ("import sys; from tui.cli import main; sys.argv=['qualtui','lookup','ransom'];\n"
            "try: main()\nexcept SystemExit: pass\n"
            "print('TEXTUAL' if 'textual' in sys.modules else 'CLEAN')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"QUALTUI_CODEBOOK": str(CODEBOOK), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().endswith("CLEAN"), out.stderr


def test_codebook_check_ok_and_errors(tmp_path: Path) -> None:
    ok = run("codebook", "check", str(CODEBOOK))
    assert ok.exit_code == 0 and "9 categories, 52 codes, 91 sub-codes" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(CODEBOOK.read_text(encoding="utf-8").replace("key: \"2\"", "key: \"22\"", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["codebook", "check", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "Traceback" not in result.output
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert CliRunner().invoke(cli, ["codebook", "check", str(empty)]).exit_code == 2
    assert CliRunner().invoke(cli, ["codebook", "check", str(tmp_path / "missing.yaml")]).exit_code == 2


def test_codebook_show_tree_with_counts(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    run("--db", str(db), "import", str(SAMPLE))
    from tui.core.project.events import CODE_ADD, Event

    s = Store(db)
    pid = s.post_ids()[0]
    s.record(Event("alice", pid, CODE_ADD, code_id="control/physical-abuse/torture"))
    s.close()
    out = run("--db", str(db), "--codebook", str(CODEBOOK), "codebook", "show").output
    assert "9 categories, 52 codes, 91 sub-codes" in out
    assert "[4] Control Mechanisms" in out and "Torture  1" in out


def test_sample_is_reproducible(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    run("--db", str(db), "import", str(SAMPLE))
    run("--db", str(db), "sample", "--n", "10", "--seed", "7", "--coder", "a")
    run("--db", str(db), "sample", "--n", "10", "--seed", "7", "--coder", "b")
    s = Store(db)
    assert s.queue("a") == s.queue("b") and len(s.queue("a")) == 10
    res = CliRunner().invoke(cli, ["--db", str(db), "sample", "--where", "relevant", "--coder", "a"])
    assert res.exit_code == 1 and "prelabel" in res.output
    assert s.queue("a") == s.queue("b")


def test_commands_on_missing_project_fail_clearly(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "posts"])
    assert res.exit_code == 1 and "No project" in res.output
    assert not (tmp_path / "none.db").exists()


def test_same_seed_same_posts_across_projects(tmp_path: Path) -> None:
    picked = []
    for name in ("alice.db", "bob.db"):
        db = tmp_path / name
        run("--db", str(db), "import", str(SAMPLE))
        run("--db", str(db), "sample", "--n", "12", "--seed", "11", "--coder", "x")
        s = Store(db)
        picked.append([s.post(pid)["platform_id"] for pid in s.queue("x")])
        s.close()
    assert picked[0] == picked[1] and len(picked[0]) == 12


def test_sample_relevant_with_a_codebook_without_screening(tmp_path: Path) -> None:
    # A codebook with no `screening:` section used to crash `sample --where relevant` with a traceback.
    db = tmp_path / "q.db"
    run("--db", str(db), "import", str(SAMPLE))
    lookup = Path(__file__).parent.parent / "core" / "fixtures" / "lookup.yaml"
    res = CliRunner().invoke(cli, ["--db", str(db), "--codebook", str(lookup), "sample", "--where", "relevant",
                                   "--coder", "a"])
    assert res.exit_code == 1 and "prelabel" in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
