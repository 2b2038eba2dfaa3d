"""The blind arm: which posts are blind, the codebook settings, and the arm recorded with every decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.samples import CODEBOOK
from tests.sync_helpers import TEEN, project
from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import CodebookError
from tui.core.coding.session import Session, SessionError
from tui.core.prelabel.arms import BLIND, SHOWN, arm_of, in_arm, is_blind, post_arms, share_problem
from tui.core.project.events import RELEVANCE, Event
from tui.core.project.store import Store
from tui.core.sync.exchange import SyncError, export_events
from tui.core.sync.exchange_read import read_export
from tui.core.sync.merge import merge_files

BASE = CODEBOOK.read_text(encoding="utf-8")


def with_assistance(section: str) -> str:
    """The study codebook with an `assistance:` section appended."""
    return BASE.rstrip("\n") + "\n" + section


def test_the_choice_is_a_pure_function_of_seed_and_identity() -> None:
    ids = [f"{i:024x}" for i in range(4000)]
    first = [is_blind("xhs", i, "study-1", 0.2) for i in ids]
    assert first == [is_blind("xhs", i, "study-1", 0.2) for i in reversed(ids)][::-1]
    assert 0.17 < sum(first) / len(ids) < 0.23  # about the share
    # More posts imported later: the earlier ones keep their arm (nothing depends on the others).
    assert first[:100] == [is_blind("xhs", i, "study-1", 0.2) for i in ids[:100]]
    other = [is_blind("xhs", i, "study-2", 0.2) for i in ids]
    assert other != first
    assert not any(is_blind("xhs", i, "study-1", 0.0) for i in ids)
    assert all(is_blind("xhs", i, "study-1", 1.0) for i in ids)
    # A smaller share keeps a subset of the larger one's posts.
    assert all(b for b, s in zip(first, [is_blind("xhs", i, "study-1", 0.1) for i in ids], strict=True) if s)
    # The platform is part of the identity, and the fields cannot run into each other.
    assert [is_blind("ab", "c", "s", 0.5) for _ in range(2)] == [is_blind("ab", "c", "s", 0.5)] * 2
    assert is_blind("xhs", "1", "s", 0.5) == is_blind("xhs", "1", "s", 0.5)


@pytest.mark.parametrize("share", [1.5, -0.1, "abc", float("nan"), True, None])
def test_a_bad_share_is_refused_in_one_phrase(share: object) -> None:
    problem = share_problem(share)
    assert problem is not None and problem.startswith("the blind share must be a number from 0 to 1")
    with pytest.raises(ValueError, match="blind share"):
        is_blind("xhs", "1", "s", share)  # type: ignore[arg-type]


def test_the_codebook_carries_share_and_seed_with_defaults() -> None:
    plain = parse_codebook(BASE)
    assert plain.assistance.blind_share == 0.2
    assert plain.study_seed == "qualtui-study:" + plain.name
    cb = parse_codebook(with_assistance('assistance:\n  blind_share: 0.1\n  seed: "rednote-2026"\n'))
    assert (cb.assistance.blind_share, cb.study_seed) == (0.1, "rednote-2026")
    off = parse_codebook(with_assistance("assistance:\n  blind_share: 0\n"))
    assert off.assistance.blind_share == 0.0 and arm_of({"platform": "xhs", "platform_id": "x"}, off) == SHOWN


@pytest.mark.parametrize(("section", "message"), [
    ("  blind_share: 1.5", "the assistance blind_share should be a number from 0.0 to 1.0, not 1.5"),
    ("  blind_share: abc", "the assistance blind_share should be a number from 0.0 to 1.0, not abc"),
    ("  seed: 42", "the assistance seed should be text, not a number (42); put it in quotes"),
    ("  seed: ''", "the assistance seed is empty"),
    ("  share: 0.2", "unknown field 'share' in the assistance section; did you mean 'blind_share'?"),
])
def test_a_bad_assistance_section_is_one_file_line_sentence(section: str, message: str) -> None:
    text = with_assistance("assistance:\n" + section + "\n")
    line = text.count("\n")
    with pytest.raises(CodebookError) as caught:
        parse_codebook(text, "codebook.yaml")
    assert [str(p) for p in caught.value.problems] == [f"codebook.yaml:{line}: {message}"]


def test_an_assistance_section_that_is_not_a_mapping() -> None:
    text = with_assistance("assistance: 0.2\n")
    with pytest.raises(CodebookError) as caught:
        parse_codebook(text, "codebook.yaml")
    assert "the assistance section should be a mapping of fields (blind_share, seed)" in str(caught.value)


def _half_blind(tmp_path: Path, name: str = "p") -> tuple[Store, Session]:
    cb = parse_codebook(with_assistance('assistance:\n  blind_share: 0.5\n  seed: "t"\n'))
    store = project(tmp_path, name)
    conn = store.db.conn
    post = conn.execute("SELECT * FROM posts ORDER BY id LIMIT 1").fetchone()
    assert post is not None
    with conn:
        for pid in [r[0] for r in conn.execute("SELECT id FROM posts")]:
            conn.execute("INSERT INTO suggestions (post_id, kind, code_id, score, source, model_hash, prompt_hash,"
                         " created_at) VALUES (?, 'relevance', 'relevance', 0.9, 'llm', 'm', 'p', 'now'),"
                         " (?, 'code', ?, 0.8, 'learned', 'm', 'p', 'now')", (pid, pid, TEEN))
    return store, Session(store, cb, "alice")


def _arms(s: Session) -> dict[int, str]:
    return {pid: s.arm(pid) for pid in s.posts}


def test_a_blind_post_shows_no_suggestion_and_every_decision_records_its_arm(tmp_path: Path) -> None:
    store, s = _half_blind(tmp_path)
    arms = _arms(s)
    assert set(arms.values()) == {BLIND, SHOWN}
    blind = next(p for p, a in arms.items() if a == BLIND)
    shown = next(p for p, a in arms.items() if a == SHOWN)
    cur = s.go_post(blind)
    assert cur.blind and cur.suggestions == [] and s.pending_suggestions() == []
    assert cur.likely_codes == [TEEN]  # still weighs the post for the exposure clock
    with pytest.raises(SessionError, match="This post is blind"):
        s.decide_suggestion(TEEN, True)
    s.add_code(TEEN)
    s.set_done(True)
    cur = s.go_post(shown)
    assert not cur.blind and cur.suggestions and s.pending_suggestions()
    s.decide_suggestion(TEEN, True)
    s.undo()  # takes back the code on the shown post: the undo is recorded in that post's arm
    s.go_post(blind)
    s.set_memo("note")
    s.undo()
    by_post = {(e["post_id"], e["kind"]): e["arm"] for e in store.events(coder="alice")}
    assert {a for (p, _), a in by_post.items() if p == blind} == {BLIND}
    assert {a for (p, _), a in by_post.items() if p == shown} == {SHOWN}
    assert ("undo" in {k for (p, k) in by_post if p == blind}) and ("undo" in {k for (p, k) in by_post if p == shown})
    assert post_arms(store.db.conn) == {blind: BLIND, shown: SHOWN}
    assert post_arms(store.db.conn, ["alice"]) == post_arms(store.db.conn, ["consensus"])
    assert in_arm([blind, shown, 999], post_arms(store.db.conn), BLIND) == [blind]
    assert in_arm([blind, shown, 999], post_arms(store.db.conn), SHOWN) == [shown, 999]
    assert in_arm([blind, shown], {}, "all") == [blind, shown]


def test_a_post_with_a_decision_from_before_arms_counts_as_shown(tmp_path: Path) -> None:
    store, s = _half_blind(tmp_path)
    blind = next(p for p, a in _arms(s).items() if a == BLIND)
    s.go_post(blind)
    s.set_relevance(1)
    assert post_arms(store.db.conn) == {blind: BLIND}
    store.record(Event("bob", blind, RELEVANCE, value="1"))  # no arm: made with suggestions on screen
    assert post_arms(store.db.conn) == {blind: SHOWN}
    assert post_arms(store.db.conn, ["alice"]) == {blind: BLIND}


def test_the_arm_travels_through_export_and_merge_unchanged(tmp_path: Path) -> None:
    store, s = _half_blind(tmp_path, "alice")
    for pid in s.posts:  # the arms of these 12 posts are fixed by their ids: both arms are there
        s.go_post(pid)
        s.set_relevance(1)
    sent = {e["id"]: e["arm"] for e in store.events(coder="alice")}
    assert set(sent.values()) == {BLIND, SHOWN}
    path = tmp_path / "alice.qualtui.jsonl"
    export_events(store, path, coder="alice", codebook_hash=s.codebook.hash)
    assert {json.loads(line)["arm"] for line in path.read_text(encoding="utf-8").splitlines()[1:]} == {BLIND, SHOWN}
    lead = project(tmp_path, "lead")
    merge_files(lead, [path], resolve=s.codebook.resolve, codebook_hash=s.codebook.hash)
    assert {e["id"]: e["arm"] for e in lead.events(coder="alice")} == sent
    merge_files(lead, [path], resolve=s.codebook.resolve, codebook_hash=s.codebook.hash)  # idempotent
    assert len(lead.events(coder="alice")) == len(sent)


def _rewrite(path: Path, change: object) -> None:
    """Apply `change` to every event line and fix the checksum, as an older or hostile writer would."""
    import hashlib

    lines = path.read_text(encoding="utf-8").splitlines()
    header, body = json.loads(lines[0]), []
    for line in lines[1:]:
        obj = json.loads(line)
        change(obj)  # type: ignore[operator]
        body.append(json.dumps(obj, ensure_ascii=False))
    raw = ("\n".join(body) + "\n").encode("utf-8")
    header["body_sha256"] = hashlib.sha256(raw).hexdigest()
    path.write_bytes(json.dumps(header).encode("utf-8") + b"\n" + raw)


def test_a_file_without_arms_still_merges_and_a_bad_arm_is_refused(tmp_path: Path) -> None:
    store, s = _half_blind(tmp_path, "alice")
    s.set_relevance(1)
    path = tmp_path / "alice.qualtui.jsonl"
    export_events(store, path, coder="alice", codebook_hash=s.codebook.hash)
    _rewrite(path, lambda obj: obj.pop("arm"))
    assert [e["arm"] for e in read_export(path).events] == [""]
    bad = tmp_path / "bad.qualtui.jsonl"
    bad.write_bytes(path.read_bytes())
    _rewrite(bad, lambda obj: obj.update(arm="hidden"))
    lead = project(tmp_path, "lead")
    with pytest.raises(SyncError) as caught:
        merge_files(lead, [bad], resolve=s.codebook.resolve, codebook_hash=s.codebook.hash)
    assert str(caught.value) == ("bad.qualtui.jsonl line 2: the event's arm must be \"blind\", \"shown\" or empty. "
                                 "Nothing was merged.")
    assert lead.events() == []
    merge_files(lead, [path], resolve=s.codebook.resolve, codebook_hash=s.codebook.hash)
    assert [e["arm"] for e in lead.events(coder="alice")] == [""]


def test_two_coders_projects_pick_the_same_posts_without_exchanging_anything(tmp_path: Path) -> None:
    cb = parse_codebook(with_assistance('assistance:\n  blind_share: 0.5\n  seed: "t"\n'))
    picks = []
    for name in ("alice", "bob"):  # separate projects: different row ids and labels for the same posts
        store = project(tmp_path, name)
        picks.append({p["platform_id"]: (p["label"], arm_of(p, cb)) for p in store.posts()})
    assert {k: v[1] for k, v in picks[0].items()} == {k: v[1] for k, v in picks[1].items()}
    assert {v[1] for v in picks[0].values()} == {BLIND, SHOWN}
    assert [v[0] for v in picks[0].values()] != [v[0] for v in picks[1].values()]
