"""Shared fixtures: real SQLite projects in temporary folders, real codebook files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.samples import xhs_note
from tui.core.project.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh project file."""
    s = Store(tmp_path / "p.db")
    yield s
    s.close()


@pytest.fixture
def notes_file(tmp_path: Path) -> Path:
    """A MediaCrawler JSON array of five notes."""
    path = tmp_path / "search_contents_2026-11-22.json"
    path.write_text(json.dumps([xhs_note(i) for i in range(5)], ensure_ascii=False), encoding="utf-8")
    return path
