"""The installed `qualtui` console script in a real pseudo-terminal: real keys, real exit status, then the database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.samples import SAMPLE
from tui.core.project.store import Store

pexpect = pytest.importorskip("pexpect")

ROWS, COLS = 30, 100
STARTUP = 60.0
"""Seconds the app may take to start on a busy machine (it usually takes one or two)."""
TORTURE = "control/physical-abuse/torture"


def _qualtui() -> str:
    found = shutil.which("qualtui") or str(Path(sys.executable).with_name("qualtui"))
    if not Path(found).exists():
        pytest.skip("the qualtui console script is not installed")
    return found


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean home: no user config, no coder set by the environment; this checkout's `tui` first."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    out = {k: v for k, v in os.environ.items() if not k.startswith("QUALTUI_")}
    out.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TERM="xterm-256color", COLUMNS=str(COLS),
               LINES=str(ROWS), PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]),
                                                            *filter(None, [os.environ.get("PYTHONPATH")])]))
    out.pop("TEXTUAL", None)  # no devtools, no debug features
    return out


@pytest.fixture
def db(tmp_path: Path, env: dict[str, str]) -> Path:
    """A project made by the real `qualtui import` on the shipped sample."""
    path = tmp_path / "smoke.db"
    done = subprocess.run([_qualtui(), "--db", str(path), "import", str(SAMPLE)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return path


def _query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, args).fetchall()


def _events(db: Path) -> list[tuple[str, str]]:
    return [(str(k), str(c or "")) for k, c in _query(db, "SELECT kind, code_id FROM events WHERE coder = 'smoke' "
                                                         "ORDER BY rowid")]


SEEN: dict[int, list[str]] = {}
"""Everything each child drew, kept while the pty is drained, so a last traceback is never lost."""


def _drain(child: object, seconds: float) -> None:
    """Read what the app draws for a while, so it never blocks on a full pty."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        wait = max(0.01, min(0.1, end - time.monotonic()))
        try:
            SEEN.setdefault(id(child), []).append(
                child.read_nonblocking(65536, timeout=wait))  # type: ignore[attr-defined]
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:  # the program ended; _finish collects its status
            return


def _until(check: Callable[[], bool], child: object, timeout: float = 20.0) -> None:
    """Wait until `check()` holds (the database is the witness), reading the terminal meanwhile."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        _drain(child, 0.1)
    raise AssertionError("the app did not get there in time")


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., object]]:
    """Start a program in a 100x30 pty; whatever is still running at the end is stopped."""
    children: list[object] = []

    def start(program: str, args: list[str]) -> object:
        child = pexpect.spawn(program, args, env=env, dimensions=(ROWS, COLS), encoding="utf-8",
                              codec_errors="replace", timeout=30)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():  # type: ignore[attr-defined]
            child.terminate(force=True)  # type: ignore[attr-defined]


def _started(db: Path, child: object) -> None:
    """The session started (its well-being state is saved on mount) and the opening check-in is up."""
    _until(lambda: bool(_query(db, "SELECT 1 FROM wb_state WHERE coder = 'smoke'")), child, STARTUP)
    _drain(child, 1.5)


def _keys(child: object, *keys: str, gap: float = 0.3) -> None:
    """Type keys one by one, `gap` seconds apart, as a person would."""
    for key in keys:
        if not child.isalive():  # type: ignore[attr-defined]
            return  # the rest would go to the shell, as in a real terminal
        child.send(key)  # type: ignore[attr-defined]
        _drain(child, gap)


def _finish(child: object) -> tuple[int | None, str]:
    """Wait for the program to end; its exit status and everything it drew."""
    child.expect(pexpect.EOF, timeout=30)  # type: ignore[attr-defined]
    seen = "".join(SEEN.pop(id(child), [])) + str(child.before)  # type: ignore[attr-defined]
    child.close()  # type: ignore[attr-defined]
    return child.exitstatus, seen  # type: ignore[attr-defined]


ESC = "\x1b"


def test_a_real_session_in_a_terminal(db: Path, spawn: Callable[..., object]) -> None:
    # Without pre-labelling in the background (test_auto_prelabel_pty.py has it): keys and the database only.
    child = spawn(_qualtui(), ["--db", str(db), "code", "--coder", "smoke", "--no-auto-prelabel"])
    _started(db, child)
    _keys(child, ESC, gap=0.6)  # skip the opening check-in
    _keys(child, "1", "0", "1")
    _until(lambda: len(_events(db)) == 3, child)
    _keys(child, "m", "4", "p", "t")  # coding mode; Control › Physical abuse › Torture
    _until(lambda: ("code_add", TORTURE) in _events(db), child)
    _keys(child, "u")
    _until(lambda: _events(db)[-1][0] == "undo", child)
    _keys(child, "q")
    status, seen = _finish(child)
    assert status == 0, seen[-2000:]
    assert "Traceback" not in seen
    # A code on an unscreened post marks it relevant first; undo takes back the code.
    assert _events(db) == [("relevance", "")] * 4 + [("code_add", TORTURE), ("undo", "")]
    assert [v for (v,) in _query(db, "SELECT value FROM events WHERE kind = 'relevance' AND coder = 'smoke' "
                                     "ORDER BY rowid")] == ["1", "0", "1", "1"]
    ((post,),) = _query(db, "SELECT post_id FROM events WHERE kind = 'code_add' AND coder = 'smoke'")
    store = Store(db)
    assert list(store.state("smoke", int(post)).codes) == []  # type: ignore[call-overload]
    store.close()
    assert _query(db, "SELECT count(*) FROM wb_log WHERE coder = 'smoke'")[0][0] > 0  # the session was recorded


@pytest.mark.parametrize("together", [False, True], ids=["0.3 s apart", "in one burst"])
def test_typing_a_word_after_quit_exits_cleanly(db: Path, spawn: Callable[..., object], together: bool) -> None:
    child = spawn(_qualtui(), ["--db", str(db), "code", "--coder", "smoke", "--no-auto-prelabel"])
    _started(db, child)
    _keys(child, ESC, gap=0.6)
    # A coder who thought the search box had focus; a fast typist's keys arrive in one read.
    _keys(child, *(["question"] if together else "question"))
    status, seen = _finish(child)
    assert status == 0, seen[-2000:]
    assert "Traceback" not in seen and "NoMatches" not in seen
    assert _events(db) == []


CRASHING = """
import sys
from tui.cli import main
from tui.ui.screens.coding import CodingScreen

def broken(self):
    raise RuntimeError("a bug in a key handler")

CodingScreen.action_toggle_mode = broken  # the m key
sys.argv[0] = "qualtui"
main()
"""


def test_a_crash_exits_non_zero(db: Path, spawn: Callable[..., object]) -> None:
    child = spawn(sys.executable, ["-c", CRASHING, "--db", str(db), "code", "--coder", "smoke", "--no-auto-prelabel"])
    _started(db, child)
    _keys(child, ESC, gap=0.6)
    _keys(child, "1")
    _until(lambda: len(_events(db)) == 1, child)
    _keys(child, "m")
    status, seen = _finish(child)
    assert status == 1, seen[-2000:]
    assert "a bug in a key handler" in seen and "stopped on an unexpected error" in seen
    assert _events(db) == [("relevance", "")]  # what was decided before the crash is kept


def test_a_code_typed_in_one_burst_after_n_lands_in_its_form(db: Path, spawn: Callable[..., object]) -> None:
    child = spawn(_qualtui(), ["--db", str(db), "code", "--coder", "smoke", "--mode", "coding", "--no-auto-prelabel"])
    _started(db, child)
    _keys(child, ESC, gap=0.6)
    # A fast typist: the key that opens the form, the name, the definition, Enter, in one read; and a
    # digit typed just before n must still do its own work first.
    _keys(child, "nSold on\tResold to another compound\r")
    _until(lambda: ("code_add", "") not in _events(db) and any(k == "code_add" for k, _ in _events(db)), child)
    _keys(child, "q")
    status, seen = _finish(child)
    assert status == 0, seen[-2000:]
    created = _query(db, "SELECT code_id, value FROM events WHERE kind = 'code_create'")
    assert len(created) == 1 and '"name": "Sold on"' in str(created[0][1])
    assert '"definition": "Resold to another compound"' in str(created[0][1])
    assert [k for k, _ in _events(db)] == ["code_create", "relevance", "code_add"]
