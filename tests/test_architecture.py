"""The shape of the package, checked: three layers, a core that never loads the UI, lint and types clean.

The import-linter contracts in pyproject.toml read the static import graph; the hygiene test runs each core
module in a fresh interpreter and looks at `sys.modules`, which is the only way to see what really loads
(a lazy import inside a function is invisible to the graph). ruff and mypy run here so the README's test
command, and so CI, enforces them.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tui.core

ROOT = Path(__file__).resolve().parents[1]
CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(tui.core.__path__, "tui.core."))
UI_PACKAGES = ("textual", "rich", "textual_plotext")


def _tool(name: str) -> str:
    # The tools are installed beside the interpreter by the test extra.
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]').")
    return found


def test_every_core_module_is_listed() -> None:
    assert len(CORE_MODULES) > 30
    assert {"tui.core.project.store", "tui.core.coding.session", "tui.core.sync.merge"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_never_loads_textual_or_rich(module: str) -> None:
    code = (f"import sys, {module}\n"
            f"print(','.join(m for m in {UI_PACKAGES!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    leaked = [m for m in out.stdout.strip().split(",") if m]
    assert not leaked, f"importing {module} loaded {leaked}"


def test_import_contracts_are_kept() -> None:
    out = subprocess.run([_tool("lint-imports"), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_ruff_finds_nothing() -> None:
    out = subprocess.run([_tool("ruff"), "check", "--no-cache", "tui", "tests", "bench"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_mypy_finds_nothing() -> None:
    # Strict on the core, ordinary on the UI and CLI (pyproject.toml says which).
    out = subprocess.run([_tool("mypy"), "--no-incremental"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_no_file_is_much_over_four_hundred_lines() -> None:
    # The house style's guideline, with a little room: a file past it should be split by what it holds.
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "tui").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, long


def test_no_sql_outside_the_core() -> None:
    hits = [str(p.relative_to(ROOT)) for layer in ("cli", "ui") for p in (ROOT / "tui" / layer).rglob("*.py")
            if ".execute(" in p.read_text(encoding="utf-8")]
    assert not hits, hits


def test_lookup_from_the_shell_loads_no_database_or_ui_library() -> None:
    # `qualtui lookup` is meant to answer at shell speed: the project store (sqlite-utils), numpy and the
    # UI stay unloaded. A module-scope import added on the command's path shows up here, not in the graph.
    code = ("import sys\n"
            "sys.argv = ['qualtui', 'lookup', 'ransom']\n"
            "from tui.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(','.join(m for m in ('sqlite_utils', 'numpy', 'textual', 'llama_cpp') if m in sys.modules),"
            " file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = [m for m in out.stderr.strip().splitlines()[-1].split(",") if m] if out.stderr.strip() else []
    assert "ransom" in out.stdout.lower()
    assert not loaded, f"`qualtui lookup` loaded {loaded}"
