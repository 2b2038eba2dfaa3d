"""Shared helpers for the benchmarks: synthetic MediaCrawler data and timing."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
WORDS_ZH = ("缅北 电诈 园区 高薪 招聘 护照 被扣 逃出来 家人 报警 大使馆 解救 骗局 "
            "注意 安全 美食 旅行 日常 分享 推荐").split()
WORDS_EN = "job offer overseas passport scam compound rescue family police embassy travel food daily share".split()


def make_notes(n: int, chars: int = 400, seed: int = 1) -> list[dict]:
    """`n` MediaCrawler-shaped RedNote notes of about `chars` characters of text each."""
    rng = random.Random(seed)
    notes = []
    for i in range(n):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < chars:
            words.append(rng.choice(WORDS_ZH if rng.random() < 0.6 else WORDS_EN))
        desc = " ".join(words)[:chars]
        notes.append({
            "note_id": f"{i:024x}", "type": "normal", "title": desc[:20], "desc": desc, "video_url": "",
            "time": 1700000000000 + i * 1000, "last_update_time": 1700000000000,
            "creator_hash": f"{rng.randrange(5000):016x}", "nickname": "小***鱼",
            "liked_count": f"{rng.randrange(100)}", "collected_count": "10+", "comment_count": "1.2万",
            "share_count": None, "image_list": "", "tag_list": ",".join(rng.sample(WORDS_ZH, 3)),
            "last_modify_ts": 1700000000000, "note_url": f"https://www.xiaohongshu.com/explore/{i:024x}",
            "source_keyword": "缅北", "xsec_token": "x",
        })
    return notes


def write_json(path: Path, notes: list[dict]) -> Path:
    """Write notes as one JSON array, as MediaCrawler's json mode does."""
    path.write_text(json.dumps(notes, ensure_ascii=False), encoding="utf-8")
    return path


def wall(cmd: list[str], **kw: object) -> float:
    """Seconds one command takes."""
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def median_wall(cmd: list[str], runs: int = 9, **kw: object) -> float:
    """The median wall time of `runs` runs of a command."""
    return statistics.median(wall(cmd, **kw) for _ in range(runs))
