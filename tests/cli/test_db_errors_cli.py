"""SQLite's own errors through the real CLI: one sentence, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.samples import SAMPLE, xhs_note
from tui.cli import cli
from tui.core.project import store as S
from tui.core.project.store import Store


def run(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), catch_exceptions=False)


def _project(path: Path, n: int = 3) -> None:
    """A project with `n` posts, checkpointed so the main file holds everything and is the only file."""
    src = path.parent / "seed.jsonl"
    src.write_text("".join(json.dumps(xhs_note(i)) + "\n" for i in range(n)), encoding="utf-8")
    assert run("--db", str(path), "import", str(src)).exit_code == 0
    src.unlink()
    s = Store(path)
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()


def _count(path: Path, table: str = "posts") -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def _one_sentence(result: Result, sentence: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"Error: {sentence}" in result.output
    assert "Traceback" not in result.output
    assert "OperationalError" not in result.output


def test_second_import_waits_then_says_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "q.db"
    _project(db)
    monkeypatch.setattr(S, "BUSY_TIMEOUT", 0.5, raising=False)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another import, mid-transaction
    started = time.monotonic()
    result = run("--db", str(db), "import", str(SAMPLE))
    waited = time.monotonic() - started
    other.execute("ROLLBACK")
    other.close()
    _one_sentence(result, f"The project {db} is busy: another qualtui command is writing to it; "
                          "try again when it finishes.")
    assert waited >= 0.45  # it waited for the other import first
    assert _count(db) == 3
    assert _count(db, "imports") == 1
    assert run("--db", str(db), "import", str(SAMPLE)).exit_code == 0  # once free, it goes ahead
    assert _count(db) == 203


def test_import_on_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "q.db"
    _project(db)
    opened = Store.__init__

    def full_disk(self: Store, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        # SQLite's limit on the file's size fails a write exactly as a full disk does (SQLITE_FULL).
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(Store, "__init__", full_disk)
    result = run("--db", str(db), "import", str(SAMPLE))
    _one_sentence(result, f"The disk is full: nothing was written to {db}.")
    assert "cannot rollback" not in result.output
    assert _count(db) == 3
    assert _count(db, "imports") == 1


def test_read_only_project_browses_and_refuses_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "q.db"
    _project(db)
    before = db.read_bytes()
    real_access = os.access

    def no_write(path: str, mode: int) -> bool:
        # What a chmod 0444 file reports to a user who is not root (tests run as root, who may write anyway).
        if mode & os.W_OK and Path(path) == db:
            return False
        return real_access(path, mode)

    monkeypatch.setattr(S.os, "access", no_write)
    listing = run("--db", str(db), "posts")
    assert listing.exit_code == 0 and "3 of 3 posts" in listing.output
    result = run("--db", str(db), "import", str(SAMPLE))
    _one_sentence(result, f"The project {db} is read-only: nothing was written.")
    result = run("--db", str(db), "sample", "--coder", "alice", "--n", "2")
    _one_sentence(result, f"The project {db} is read-only: nothing was written.")
    assert db.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE foo (x)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    result = run("--db", str(db), "import", str(SAMPLE))
    _one_sentence(result, f"{db} is an SQLite database but not a qualtui project; nothing was changed.")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_non_sqlite_file_is_refused_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "thesis.docx"
    db.write_bytes(b"PK\x03\x04 my thesis" * 100)
    before = db.read_bytes()
    for args in (["import", str(SAMPLE)], ["posts"]):
        result = run("--db", str(db), *args)
        _one_sentence(result, f"{db} is not a qualtui project (it is not an SQLite database); nothing was changed.")
        assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


def test_failed_import_to_new_path_leaves_no_project(tmp_path: Path) -> None:
    bad = tmp_path / "crawl.json"
    bad.write_text('[{"note_id": "1", "desc": "x"}, {"note_id": ', encoding="utf-8")
    db = tmp_path / "new.db"
    result = run("--db", str(db), "import", str(bad))
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.json"]  # no new.db, -wal or -shm


def test_failed_second_file_keeps_the_new_project(tmp_path: Path) -> None:
    bad = tmp_path / "crawl.json"
    bad.write_text("[", encoding="utf-8")
    db = tmp_path / "new.db"
    result = run("--db", str(db), "import", str(SAMPLE), str(bad))
    assert result.exit_code == 1
    assert _count(db) == 200  # the first file's posts are the user's work: kept


def test_second_import_process_waits_for_the_first(tmp_path: Path) -> None:
    import subprocess
    import sys
    import threading

    from tests.samples import ROOT

    db = tmp_path / "q.db"
    _project(db)
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")  # the first import, still writing
    release = threading.Timer(1.5, lambda: other.execute("ROLLBACK"))
    release.start()
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", "from tui.cli import main; main()", "--db", str(db), "import",
                           str(SAMPLE)], capture_output=True, text=True, env=env, timeout=60)
    release.join()
    other.close()
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started >= 1.4  # it waited rather than failing at once
    assert "imported 200" in proc.stdout and proc.stderr == ""
    assert _count(db) == 203


def _as_nobody() -> list[str] | None:
    """A command prefix that runs this Python, with its packages, as the unprivileged user `nobody`.

    Root ignores file modes, so a real read-only project can only be tried as another user.
    """
    import shutil
    import site
    import subprocess
    import sys

    from tests.samples import ROOT

    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    path = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, os.path.realpath(sys.executable), f"/usr/bin/python{version}"):
        cmd = ["runuser", "-u", "nobody", "--", "env", f"PYTHONPATH={path}", "HOME=/tmp", "COLUMNS=200", python]
        probe = subprocess.run([*cmd, "-c", "import click, sqlite_utils, rich, tui"], capture_output=True)
        if probe.returncode == 0:
            return cmd
    return None


@pytest.mark.parametrize("folder_mode", [0o555, 0o777], ids=["read-only folder", "shared folder"])
def test_really_read_only_project(tmp_path: Path, folder_mode: int) -> None:
    import shutil
    import subprocess
    import tempfile

    cmd = _as_nobody()
    if cmd is None:
        pytest.skip("needs root, runuser and a Python the user nobody can run")
    _project(tmp_path / "q.db")
    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own folders are closed to other users
    db = folder / "q.db"
    try:
        shutil.copy(tmp_path / "q.db", db)
        db.chmod(0o444)
        folder.chmod(folder_mode)
        before = _files_in(folder)

        def qualtui(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*cmd, "-c", "from tui.cli import main; main()", "--db", str(db), *args],
                                  capture_output=True, text=True, timeout=120)

        listing = qualtui("posts")
        assert listing.returncode == 0 and "3 of 3 posts" in listing.stdout, listing.stderr
        refused = qualtui("import", str(SAMPLE))
        assert refused.returncode == 1
        assert refused.stderr == f"Error: The project {db} is read-only: nothing was written.\n"
        # Not a byte changed, and no -wal or -shm of another user's left to block the owner's next write.
        assert _files_in(folder) == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def _files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_project_in_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "no-such-folder" / "q.db"
    result = run("--db", str(db), "import", str(SAMPLE))
    _one_sentence(result, f"The project {db} cannot be opened: check that its folder exists and that you may "
                          "write there.")
    assert list(tmp_path.iterdir()) == []
