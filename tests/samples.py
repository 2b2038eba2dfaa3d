"""Test data helpers shared by the test files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "codebook.yaml"
SAMPLE = ROOT / "data" / "sample_xhs.json"
HOSTILE = ["[@click=app.quit]x", "[/]", "[B]bold", "[$accent]x", "[link=https://x.invalid]l[/link]",
           "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07osc\x1b]8;;\x07", "nul\x00byte"]


def xhs_note(i: int, **over: object) -> dict[str, object]:
    """A MediaCrawler-shaped RedNote note."""
    note = {
        "note_id": f"{i:024x}", "type": "normal", "title": f"title {i}", "desc": f"post text {i} 缅北",
        "video_url": "", "time": 1700000000000 + i * 1000, "last_update_time": 1700000000000,
        "creator_hash": f"{i % 7:016x}", "nickname": "小***鱼", "liked_count": "1.2万",
        "collected_count": "10+", "comment_count": None, "share_count": "3", "image_list": "",
        "tag_list": "缅北,电诈", "last_modify_ts": 1700000000000,
        "note_url": f"https://www.xiaohongshu.com/explore/{i:024x}", "source_keyword": "缅北",
        "xsec_token": "tok",
    }
    note.update(over)
    return note
