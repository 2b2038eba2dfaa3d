"""The blind arm: which posts show no model output, and in which arm each decision was made.

A post is blind when a SHA-256 of the study seed, its platform and its platform id falls under the
blind share. Nothing else goes in, so every coder's project picks the same posts without exchanging
anything, and importing more posts never moves a post from one arm to the other.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tui.core.project.events import CONSENSUS
from tui.core.project.schema import arm_column

__all__ = [
    "ALL", "ARM_CHOICES", "BLIND", "INFLUENCED", "SHOWN", "arm_note", "arm_of", "counted", "in_arm", "is_blind",
    "post_arms", "share_problem",
]

BLIND = "blind"
SHOWN = "shown"
ALL = "all"
ARM_CHOICES = (BLIND, SHOWN, ALL)
"""What `--arm` accepts: blind posts only (the default), posts shown with suggestions, or both."""
INFLUENCED = "influenced by the suggestions"


def share_problem(share: object) -> str | None:
    """Why `share` cannot be a blind share (a phrase), or None if it can (a number from 0 to 1)."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or math.isnan(share):
        return f"the blind share must be a number from 0 to 1, not {str(share)[:40]!r}"
    if not 0.0 <= share <= 1.0:
        return f"the blind share must be a number from 0 to 1, not {share:g}"
    return None


def is_blind(platform: str, platform_id: str, seed: str, share: float) -> bool:
    """True if the post with this identity is in the blind arm of the study with this seed and share.

    The first 64 bits of SHA-256 over the JSON list [seed, platform, platform_id] (JSON keeps the
    three apart whatever they contain), read as a fraction of 2**64, fall under `share`.
    """
    problem = share_problem(share)
    if problem:
        raise ValueError(problem)
    if share <= 0.0:
        return False
    digest = hashlib.sha256(json.dumps([seed, platform, platform_id], ensure_ascii=False).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < share


def arm_of(post: Mapping[str, Any], codebook: Any) -> str:
    """The arm of a post (a row with `platform` and `platform_id`) under the codebook's assistance settings."""
    blind = is_blind(str(post.get("platform", "")), str(post.get("platform_id", "")), codebook.study_seed,
                     codebook.assistance.blind_share)
    return BLIND if blind else SHOWN


def post_arms(conn: sqlite3.Connection, coders: Iterable[str] | None = None, *,
              strict: bool = False) -> dict[int, str]:
    """The arm of every post these coders (default: all but the consensus) decided, from the recorded arms.

    A post counts as blind only if every event on it was recorded blind: a decision made before arms
    were recorded ('') was made with the suggestions on screen, so it counts as shown. `strict` (the
    anchoring comparison) calls a post shown only if every event was recorded shown, else ''.
    """
    names = [c for c in coders or () if c != CONSENSUS]  # the consensus's arm is its coders'
    column = arm_column(conn)
    blind = f"min({column} = 'blind') + 2 * min({column} = 'shown')" if strict else f"min({column} = 'blind')"
    if not names:
        rows = conn.execute(f"SELECT post_id, {blind} FROM events WHERE coder != ? GROUP BY post_id", (CONSENSUS,))
    else:
        marks = ",".join("?" * len(names))
        rows = conn.execute(f"SELECT post_id, {blind} FROM events WHERE coder IN ({marks}) GROUP BY post_id", names)
    if strict:
        return {pid: {1: BLIND, 2: SHOWN}.get(found, "") for pid, found in rows}
    return {pid: BLIND if blind else SHOWN for pid, blind in rows}


def in_arm(post_ids: Iterable[int], arms: Mapping[int, str], arm: str) -> list[int]:
    """The posts of `post_ids` that belong to `arm` ('all' keeps them all; a post with no arm counts as shown)."""
    if arm not in ARM_CHOICES:
        raise ValueError(f"unknown arm {arm!r}")
    if arm == ALL:
        return list(post_ids)
    return [p for p in post_ids if (arms.get(p) == BLIND) == (arm == BLIND)]


def counted(conn: sqlite3.Connection, coder: str | None, arm: str) -> Callable[[int], bool]:
    """Whose decisions on which posts a scorecard in `arm` counts: the one filter every scorecard calls.

    `coder` is whose decisions are compared (None or the consensus: every coder's arm on the post).
    """
    if arm not in ARM_CHOICES:
        raise ValueError(f"unknown arm {arm!r}")
    if arm == ALL:
        return lambda _post_id: True
    arms = post_arms(conn, [coder] if coder else None)
    return lambda post_id: (arms.get(post_id) == BLIND) == (arm == BLIND)


def arm_note(arm: str, n: int) -> str:
    """What a scorecard was computed on, for its title or note."""
    if arm == BLIND:
        return f"blind posts only (n = {n}): no suggestion was on screen when they were decided"
    if arm == SHOWN:
        return f"posts shown with suggestions only (n = {n}), {INFLUENCED}"
    return f"all posts (n = {n}), {INFLUENCED} where they were shown"
