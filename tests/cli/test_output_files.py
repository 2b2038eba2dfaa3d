"""Every `-o` writes a regular file or a new path through a temporary file; anything else is refused."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import ROOT, xhs_note
from tui.cli import cli
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.qdc import export_qdc
from tui.core.files import FileRefused, atomic_write
from tui.core.project.events import Event
from tui.core.project.store import Store

RANSOM = "targeting/financial-instability/ransom"

# Each command that writes a file with -o, as arguments before the path.
WRITERS = {
    "report frequencies": ["report", "frequencies", "--format", "md"],
    "report all latex": ["report", "all", "--format", "latex"],
    "report codings csv": ["report", "codings", "--format", "csv"],
    "report codings json": ["report", "codings", "--format", "json"],
    "codebook export md": ["codebook", "export", "--format", "md"],
    "codebook export latex": ["codebook", "export", "--format", "latex"],
    "codebook export qdc": ["codebook", "export", "--format", "qdc"],
    "codebook import": ["codebook", "import", "{qdc}", "--force"],
    "export": ["export", "--coder", "alice"],
}


def run(db: Path, *args: str) -> object:
    return CliRunner(env={"COLUMNS": "200"}).invoke(
        cli, ["--db", str(db), "--codebook", str(ROOT / "codebook.yaml"), *args])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small coded project and a .qdc file to import."""
    folder = tmp_path_factory.mktemp("out")
    src = folder / "notes.json"
    src.write_text(json.dumps([xhs_note(i) for i in range(3)], ensure_ascii=False), encoding="utf-8")
    db = folder / "p.db"
    assert run(db, "import", str(src)).exit_code == 0
    store = Store(db)
    for pid in store.post_ids(order="id"):
        for coder in ("alice", "bob"):
            store.record(Event(coder, pid, "relevance", value="1"))
            store.record(Event(coder, pid, "code_add", code_id=RANSOM))
            store.record(Event(coder, pid, "done", value="1"))
    store.close()
    (folder / "team.qdc").write_text(export_qdc(load_codebook(ROOT / "codebook.yaml")), encoding="utf-8")
    return db


def args_for(project: Path, name: str, target: Path) -> list[str]:
    qdc = str(project.parent / "team.qdc")
    return [a.replace("{qdc}", qdc) for a in WRITERS[name]] + ["-o", str(target)]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".part"))]


@pytest.mark.parametrize("name", WRITERS)
def test_a_new_path_and_a_regular_file_are_written(project: Path, tmp_path: Path, name: str) -> None:
    target = tmp_path / "out.txt"
    result = run(project, *args_for(project, name, target))
    assert result.exit_code == 0, result.output
    first = target.read_bytes()
    assert first
    result = run(project, *args_for(project, name, target))  # over an existing regular file
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0 and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", WRITERS)
def test_a_symlink_is_refused_and_left_alone(project: Path, tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(victim)
    result = run(project, *args_for(project, name, link))
    assert result.exit_code != 0
    assert "is a symbolic link" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert link.is_symlink() and victim.read_text(encoding="utf-8") == "keep me\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", WRITERS)
def test_a_fifo_is_refused_without_hanging(project: Path, tmp_path: Path, name: str) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    outcome: dict[str, object] = {}
    worker = threading.Thread(target=lambda: outcome.update(r=run(project, *args_for(project, name, fifo))),
                              daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the hung writer so the test run can end
        with open(fifo, "rb") as fh:
            fh.read()
        pytest.fail("writing to a FIFO hung")
    result = outcome["r"]
    assert result.exit_code != 0  # type: ignore[attr-defined]
    assert "is a named pipe" in result.output  # type: ignore[attr-defined]
    assert Path(fifo).exists() and not Path(fifo).is_file()


@pytest.mark.parametrize("name", WRITERS)
def test_a_folder_is_refused(project: Path, tmp_path: Path, name: str) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    result = run(project, *args_for(project, name, folder))
    assert result.exit_code != 0 and "is a folder" in result.output, result.output
    assert "Usage:" not in result.output and list(folder.iterdir()) == []


def device(tmp_path: Path) -> Path:
    """A character device to write to. Root gets a private node (never the real /dev/null: as root, the old
    code replaced it); anyone else cannot replace /dev/null, so it is safe to use."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return node


@pytest.mark.parametrize("name", WRITERS)
def test_a_device_is_refused_and_left_alone(project: Path, tmp_path: Path, name: str) -> None:
    node = device(tmp_path)
    result = run(project, *args_for(project, name, node))
    assert result.exit_code != 0 and f"{node} is a device" in result.output, result.output
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_failed_write_keeps_the_old_file(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.md"
    target.write_text("the old report\n", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = run(project, "report", "frequencies", "-o", str(target))
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert "Traceback" not in result.output
    assert target.read_text(encoding="utf-8") == "the old report\n" and leftovers(tmp_path) == []


def test_a_writer_that_raises_midway_leaves_the_original(tmp_path: Path) -> None:
    target = tmp_path / "codings.csv"
    target.write_text("original\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half of the new")
            raise RuntimeError("the writer broke")
    assert target.read_text(encoding="utf-8") == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["codings.csv"]


def test_atomic_write_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(FileRefused, match="symbolic link"):
        with atomic_write(tmp_path / "link") as fh:
            fh.write("y")
    assert (tmp_path / "real").read_text(encoding="utf-8") == "x"
