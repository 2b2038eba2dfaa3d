"""Pre-labels without a command: the order posts are scored in, relevance first, learning again, a low priority."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.core.prelabel.helpers import POSTS, Fake, add_posts
from tui.core.codebook.loading import load_codebook
from tui.core.paths import default_codebook
from tui.core.prelabel import auto
from tui.core.prelabel.run import run_prelabel
from tui.core.project.events import Event
from tui.core.project.store import Store, text_hash

LATER = "A job offer in Myanmar turned out to be a scam compound."


class Recording(Fake):
    """The fake model, remembering which texts it was asked about and whether codes were embedded yet."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.embedded: list[str] = []

    def probability(self, template: str, post: str) -> float:
        self.asked.append(post)
        return super().probability(template, post)

    def embed(self, texts: Any) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed(texts)


def _store(tmp_path: Path, texts: list[str]) -> tuple[Store, list[int]]:
    store = Store(tmp_path / "p.db")
    return store, add_posts(store, texts)


def test_posts_in_the_coders_order_are_scored_first(tmp_path: Path, codebook: Any) -> None:
    store, ids = _store(tmp_path, POSTS)
    model = Recording()
    run_prelabel(store, codebook, model, first=auto.queue_first([ids[3], ids[1], ids[0]], 1))
    # From the post on screen (ids[1]) onwards, then the walk's start, then the posts outside the walk.
    assert model.asked == [POSTS[1], POSTS[0], POSTS[3], POSTS[2]]


def test_relevance_comes_first_then_codes_and_learning(tmp_path: Path, codebook: Any) -> None:
    store, ids = _store(tmp_path, POSTS)
    model, seen = Recording(), []
    out = auto.prelabel_in_passes(store, codebook, model, first=[ids[2]],
                                  progress=lambda what, done, total: seen.append((what, done, total)))
    assert out.n_new == 4 and out.run.status == "finished"
    assert model.asked[0] == POSTS[2] and len(model.asked) == 4  # the second pass reuses every answer
    assert ("pre-labelling", 1, 4) in seen and seen[-1] == ("pre-labelling codes", 4, 4)
    assert seen.index(("pre-labelling", 4, 4)) < seen.index(("pre-labelling codes", 0, 4))
    codes = store.db.execute("SELECT count(*) FROM suggestions WHERE kind = 'code'").fetchone()[0]
    assert codes > 0 and not auto.needs_prelabels(store)
    assert auto.learning_note(store).startswith("Learned screen: not fitted after 0 decisions.")


def test_the_quick_pass_leaves_earlier_pre_labels_alone(tmp_path: Path, codebook: Any) -> None:
    store, ids = _store(tmp_path, POSTS[:2])
    run_prelabel(store, codebook, Fake())
    before = store.db.execute("SELECT * FROM suggestions ORDER BY post_id, kind, code_id").fetchall()
    with store.db.conn:  # a post imported later
        new = [store.db.conn.execute(
            "INSERT INTO posts (platform, platform_id, label, title, text, text_hash) VALUES ('xhs', 'later',"
            " 'P-new', '', ?, ?)", (LATER, text_hash("", LATER))).lastrowid]
    assert auto.needs_prelabels(store)
    model, quick = Recording(), []
    stop = {"now": False}

    def progress(what: str, done: int, total: int) -> None:
        if what == "pre-labelling" and done == total:
            quick.append(store.db.execute("SELECT * FROM suggestions WHERE post_id != ? ORDER BY post_id, kind,"
                                          " code_id", (new[0],)).fetchall())
            stop["now"] = True

    auto.prelabel_in_passes(store, codebook, model, progress=progress, should_stop=lambda: stop["now"])
    assert model.asked == [LATER]
    assert quick == [before]  # the new post was scored alone; the others' codes never went away


def test_a_stop_while_the_codes_are_embedded_waits_for_a_few_codes_only(tmp_path: Path) -> None:
    study = load_codebook(default_codebook())  # 143 codes and sub-codes to embed before the first post
    n_codes = len([c for c in study.codes() if c.level in (2, 3)])
    store, _ = _store(tmp_path, POSTS[:1])
    model = Recording()
    out = auto.prelabel_in_passes(store, study, model, should_stop=lambda: bool(model.embedded))
    assert len(model.embedded) == auto.CODE_BATCH < n_codes  # one batch, then the stop was seen
    assert out.run is not None and out.run.status == "finished" and out.n_new == 1  # the relevance pass
    assert store.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == auto.CODE_BATCH
    again = auto.prelabel_in_passes(store, study, model)
    assert again.run is not None and again.run.status == "finished"
    assert len(model.embedded) == n_codes + 1  # every code once, then the post
    assert len(model.asked) == 1  # its relevance was cached by the first pass


def test_another_models_project_is_left_to_the_coder(tmp_path: Path, codebook: Any) -> None:
    store, _ = _store(tmp_path, POSTS[:1])
    assert not auto.other_model(store, Fake.model_hash)  # no pre-labels yet: any model will do
    run_prelabel(store, codebook, Fake())
    assert not auto.other_model(store, Fake.model_hash)
    assert auto.other_model(store, "0" * 32)


def _decide(store: Store, coder: str, pid: int, value: int) -> None:
    store.record(Event(coder, pid, "relevance", value=str(value)))


def test_learning_again_after_new_decisions_is_recorded_for_the_report(tmp_path: Path, codebook: Any) -> None:
    texts = [f"{'被骗到缅甸 scam ' if i % 2 else '今天的晚饭 '}{'x' * i}" for i in range(30)]
    store, ids = _store(tmp_path, texts)
    run_prelabel(store, codebook, Fake())
    assert auto.learning_note(store) == ""  # nothing learned by the app yet
    for pid, text in zip(ids[:24], texts[:24], strict=True):
        _decide(store, "bob", pid, int("scam" in text))
    store.record(Event("bob", ids[0], "memo", value="not a decision the learner uses"))
    assert auto.new_decisions(store) == 24
    summary = auto.relearn(store, codebook)
    assert summary.folds == 5 and auto.new_decisions(store) == 0
    note = auto.learning_note(store)
    assert "after 24 decisions" in note and "5-fold cross-validated accuracy" in note
    assert "on 24 screened posts" in note
    _decide(store, "alice", ids[25], 1)
    assert auto.new_decisions(store) == 1


def test_a_damaged_learning_record_is_ignored(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, POSTS[:1])
    with store.db.conn:
        store.set_meta(auto.LEARNED_KEY, "[not json")
    assert auto.learning_note(store) == "" and auto.new_decisions(store) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread has its own nice value on Linux")
def test_the_worker_thread_and_the_threads_it_starts_run_at_the_lowest_priority() -> None:
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def worker() -> None:
        seen["lowered"] = int(auto.lower_priority())
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        t = threading.Thread(target=child)  # as llama.cpp's threads are started from the worker
        t.start()
        t.join()

    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == {"lowered": 1, "worker": 19, "child": 19}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main  # the interface keeps its own
