"""Fixtures for app tests: a real project file with the sample corpus, the real codebook."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from pathlib import Path

import pytest
from textual.app import App

from tests.samples import CODEBOOK, SAMPLE
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Assistance, Codebook
from tui.core.project.ingest import import_file
from tui.core.project.store import Store

_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def _toasts_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Pilot test shows toasts as the coder sees them: a crash inside a toast must fail the test."""
    run_test = App.run_test

    def checked(self: App[object], *args: object, **kwargs: object) -> object:
        if kwargs.get("notifications") is not True:
            pytest.fail("run_test(...) needs notifications=True, or a crash inside a toast stays invisible")
        return run_test(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(App, "run_test", checked)


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    """The shipped study codebook, with the blind arm off.

    Post labels are random, so which post comes first differs per run: a blind first post would
    hide the suggestions a test is about. The blind arm's own tests turn it on (`blind_codebook`).
    """
    return dataclasses.replace(load_codebook(CODEBOOK), assistance=Assistance(blind_share=0.0))


@pytest.fixture(scope="session")
def blind_codebook() -> Codebook:
    """The shipped study codebook as shipped: a fifth of the posts are blind."""
    return load_codebook(CODEBOOK)


@pytest.fixture
def project(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project file holding the 200 sample posts (imported once, copied per test)."""
    if "db" not in _TEMPLATE:
        base = tmp_path_factory.mktemp("template") / "sample.db"
        s = Store(base)
        import_file(s, SAMPLE)
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        s.close()
        _TEMPLATE["db"] = base
    dest = tmp_path / "project.db"
    shutil.copy(_TEMPLATE["db"], dest)
    return dest


def screen_text(app: object) -> str:
    """Everything on the terminal screen as plain text (from the SVG screenshot)."""
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    lines = re.findall(r'<text[^>]*>(.*?)</text>', svg, flags=re.S)
    return html.unescape("".join(lines)).replace("\xa0", " ")
