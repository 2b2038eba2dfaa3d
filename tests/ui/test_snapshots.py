"""Snapshots of the main screens: an English post, a Chinese post, the code picker, the search."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.samples import CODEBOOK
from tui.core.codebook.loading import load_codebook
from tui.core.config import Config
from tui.core.project.store import Store, text_hash
from tui.ui.app import QualtuiApp

POSTS = [
    ("P-e8Y", "Offer in Bangkok turned into a compound",
     "The agent promised a customer service job with free flights. At the border they took my passport. "
     "We worked fourteen hours a day on scam scripts! I got out when the police raided the park.",
     ["job scam", "myanmar"]),
    ("P-k2Q", "被高薪骗去缅北的经历",
     "朋友介绍说去泰国做客服，月薪三万，包机票。到了以后护照被收走，每天要完成诈骗业绩。"
     "后来家里人报警，大使馆协助才回国。大家千万别信高薪招聘！🙏",
     ["缅北", "反诈"]),
]


def _project(tmp_path: Path) -> Path:
    db = tmp_path / "snap.db"
    s = Store(db)
    with s.db.conn:
        for i, (label, title, text, tags) in enumerate(POSTS):
            s.db.conn.execute(
                "INSERT INTO posts (platform, platform_id, label, title, text, tags, posted_at, text_hash)"
                " VALUES ('xhs', ?, ?, ?, ?, ?, '2024-05-01T10:00:00Z', ?)",
                (f"n{i}", label, title, text, str(tags).replace("'", '"'), text_hash(title, text)))
    s.close()
    return db


def _app(db: Path, mode: str = "coding") -> QualtuiApp:
    cfg = Config(wellbeing={"checkins": False})
    return QualtuiApp(Store(db), load_codebook(CODEBOOK), "alice", mode=mode, config=cfg)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return _project(tmp_path)


def test_english_post(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db, "screening"), terminal_size=(100, 30))


def test_chinese_post_with_codes(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["right", "4", "p", "b", "7", "l", "i", "j"], terminal_size=(100, 30))


def test_code_picker(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["4", "p"], terminal_size=(100, 30))


def test_search(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["slash", *"passport", "ctrl+d"], terminal_size=(100, 30))


def test_small_terminal(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["3", "f"], terminal_size=(80, 24))


def test_80x24_screening(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db, "screening"), terminal_size=(80, 24))


def test_80x24_coding_chinese_post(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["right", "4", "p", "b", "j"], terminal_size=(80, 24))


def test_60x20(snap_compare, db: Path) -> None:
    assert snap_compare(_app(db), press=["right"], terminal_size=(60, 20))
