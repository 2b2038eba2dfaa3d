"""Report analyses on a real project: frequencies, co-occurrence, saturation, quotes, screening, exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.samples import xhs_note
from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Codebook
from tui.core.project.events import CONSENSUS, Event
from tui.core.project.ingest import import_file
from tui.core.project.store import Store
from tui.core.report import analyses as R
from tui.core.report.data import ALL, ReportData, ReportError
from tui.core.report.export import (
    codings_long,
    codings_wide,
    frequency_table,
    quotes_markdown,
    saturation_chart,
    saturation_summary,
)
from tui.core.report.redact import mask
from tui.core.report.writers import Table, latex_escape, neutralise, to_csv, to_json, to_latex, to_markdown

CODEBOOK = """
version: "1"
name: Report test codebook
categories:
  - id: targeting
    name: Targeting
    key: "1"
    colour: "#c2690a"
    codes:
      - id: targeting/finance
        name: Financial instability
        key: f
        definition: Money trouble.
        former_ids: [targeting/money]
        subcodes:
          - {id: targeting/finance/debt, name: Debt, key: d, definition: Debts.}
          - {id: targeting/finance/ransom, name: Ransom, key: r, definition: A ransom.}
      - {id: targeting/age, name: Age, key: a, definition: Age matters.}
  - id: control
    name: Control
    key: "2"
    colour: "#8e44ad"
    codes:
      - id: control/abuse
        name: Physical abuse
        key: p
        definition: Violence.
        subcodes:
          - {id: control/abuse/torture, name: Torture, key: t, definition: Torture.}
      - {id: control/drugs, name: Drugs, key: d, definition: Drugs.}
screening:
  labels: {"0": {name: irrelevant}, "1": {name: relevant}}
  threshold: 0.6
  prompt: "Is this relevant? {post}"
"""
FIN, DEBT, RANSOM, AGE = "targeting/finance", "targeting/finance/debt", "targeting/finance/ransom", "targeting/age"
ABUSE, TORTURE, DRUGS = "control/abuse", "control/abuse/torture", "control/drugs"
SCORE_SQL = "INSERT INTO suggestions (post_id, kind, code_id, score) VALUES (?, 'relevance', '', ?)"


@pytest.fixture
def cb() -> Codebook:
    return parse_codebook(CODEBOOK, "test.yaml")


def make_project(tmp_path: Path, n: int = 10, **note: object) -> tuple[Store, list[int]]:
    """A project with `n` imported RedNote notes."""
    src = tmp_path / "notes.json"
    src.write_text(json.dumps([xhs_note(i, **note) for i in range(n)], ensure_ascii=False), encoding="utf-8")
    store = Store(tmp_path / "p.db")
    import_file(store, src)
    return store, store.post_ids(order="id")


def code(store: Store, coder: str, pid: int, *codes: str, minute: int = 0, relevance: str = "1",
         done: bool = True) -> None:
    """Record one coder's relevance, codes and done on a post at a fixed minute (the coding order)."""
    at = f"2025-01-01T10:{minute:02d}:00.000Z"
    store.record(Event(coder, pid, "relevance", value=relevance, at=at, arm="blind"))
    for c in codes:
        store.record(Event(coder, pid, "code_add", code_id=c, at=at, arm="blind"))
    if done:
        store.record(Event(coder, pid, "done", value="1", at=at, arm="blind"))


def quote(store: Store, coder: str, pid: int, code_id: str, text: str) -> None:
    store.record(Event(coder, pid, "quote_add", code_id=code_id,
                       value=json.dumps({"start": 0, "end": len(text), "text": text})))


def freq(rows: list[R.FreqRow], coder: str) -> dict[str, int]:
    return {r.id: r.posts for r in rows if r.coder == coder and r.posts}


# ---------------------------------------------------------------- frequencies


def test_subcode_counts_for_code_and_category_once_per_post(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT, RANSOM, FIN)  # three nodes of one code: still one post each
    code(store, "alice", ids[1], TORTURE, DRUGS)
    code(store, "alice", ids[2], AGE)
    got = freq(R.frequencies(store, cb), "alice")
    assert got == {"targeting": 2, FIN: 1, DEBT: 1, RANSOM: 1, AGE: 1, "control": 1, ABUSE: 1, TORTURE: 1,
                   DRUGS: 1}
    rows = R.frequencies(store, cb, coder="alice")
    assert len(rows) == len(list(cb.nodes()))  # every node, zeros included, in codebook order
    assert [r.id for r in rows] == [n.id for n in cb.nodes()]
    assert next(r for r in rows if r.id == "targeting").share == pytest.approx(2 / 3)


def test_irrelevant_undone_former_and_unknown_codes(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DRUGS, relevance="0")  # screened out: its code does not count
    code(store, "alice", ids[1], "targeting/money")  # a former id counts for the current code
    ev = store.record(Event("alice", ids[2], "code_add", code_id=TORTURE))
    store.record(Event("alice", ids[2], "undo", ref=ev.id))
    code(store, "alice", ids[3], "gone/old-code")
    rows = R.frequencies(store, cb, coder="alice")
    assert freq(rows, "alice") == {"targeting": 1, FIN: 1, "gone/old-code": 1}
    unknown = next(r for r in rows if r.id == "gone/old-code")
    assert unknown.level == 0 and "not in the codebook" in unknown.path


def test_consensus_view_agreed_reconciled_and_pending(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    for who in ("alice", "bob"):
        code(store, who, ids[0], TORTURE)  # agreed
        code(store, who, ids[1], "control/drugs" if who == "alice" else AGE)  # disputed, reconciled below
    code(store, "alice", ids[2], RANSOM)
    code(store, "bob", ids[2], DEBT)  # disputed, not reconciled: pending
    code(store, "alice", ids[3], AGE)  # only one coder: not in the consensus
    code(store, CONSENSUS, ids[1], AGE)
    data = ReportData.load(store, cb)
    assert data.coder_names() == ["alice", "bob", CONSENSUS]
    assert sorted(data.codings(CONSENSUS)) == [ids[0], ids[1]]
    assert data.pending == 1
    rows = R.frequencies(data, cb)
    assert freq(rows, CONSENSUS) == {"control": 1, ABUSE: 1, TORTURE: 1, "targeting": 1, AGE: 1}
    assert {r.coder for r in rows} == {"alice", "bob", CONSENSUS}
    assert R.pick_coder(data, None) == CONSENSUS


def test_frequency_table_pivots_coders(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT)
    code(store, "bob", ids[0], DEBT, DRUGS)
    t = frequency_table(R.frequencies(store, cb))
    assert t.headers == ["Level", "Path", "alice", "bob"]  # they disagree on the only post: no consensus yet
    by_path = {row[1]: row[2:] for row in t.rows}
    assert by_path["Targeting › Financial instability › Debt"][:2] == [1, 1]
    assert by_path["Control › Drugs"][:2] == [0, 1]
    assert "Targeting › Age" not in by_path  # nobody used it
    assert "Targeting › Age" in {row[1] for row in frequency_table(R.frequencies(store, cb), zeros=True).rows}


# ---------------------------------------------------------------- co-occurrence


def test_cooccurrence_counts_and_jaccard(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT, TORTURE)  # FIN + ABUSE
    code(store, "alice", ids[1], RANSOM, ABUSE, DRUGS)  # FIN + ABUSE + DRUGS
    code(store, "alice", ids[2], FIN)
    code(store, "alice", ids[3], DRUGS)
    co = R.cooccurrence(store, cb, coder="alice")
    assert co.n_posts == 4 and co.counts == {FIN: 3, ABUSE: 2, DRUGS: 2}
    top = co.pairs[0]
    assert (top.a, top.b, top.both, top.a_posts, top.b_posts) == (ABUSE, FIN, 2, 2, 3)
    assert top.jaccard == pytest.approx(2 / 3)
    pairs = {(p.a, p.b): p for p in co.pairs}
    assert pairs[(ABUSE, DRUGS)].jaccard == pytest.approx(1 / 3)
    assert (DEBT, TORTURE) not in pairs  # code level only
    codes, grid = co.matrix([FIN, ABUSE, DRUGS])
    assert grid == [[3, 2, 1], [2, 2, 1], [1, 1, 2]]


def test_pooled_view_when_there_is_no_consensus(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT)
    data = ReportData.load(store, cb)
    assert R.pick_coder(data, None) == ALL
    assert R.cooccurrence(data, cb).coder == ALL


# ---------------------------------------------------------------- saturation


@pytest.mark.parametrize(("counts", "run", "expected"), [
    ([2, 1, 0, 0, 0], 3, 2),
    ([2, 1, 0, 0, 0], 4, None),
    ([3, 0, 0, 1, 0, 0, 0, 2], 3, 4),  # the first run of three quiet posts decides
    ([], 1, None),
    ([0, 0, 0], 2, None),  # nothing was ever introduced
])
def test_saturation_rule(counts: list[int], run: int, expected: int | None) -> None:
    assert R.saturation_point(counts, run) == expected


def test_saturation_after_93_of_158() -> None:
    counts = [1 if i % 3 == 0 or i == 92 else 0 for i in range(93)] + [0] * 65
    assert R.saturation_point(counts, 10) == 93
    assert R.saturation_point(counts, 66) is None


def test_saturation_curve_follows_coding_order(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[5], DEBT, minute=1)  # first coded, though not the first post
    code(store, "alice", ids[0], RANSOM, minute=2)
    code(store, "alice", ids[1], DEBT, minute=3)
    code(store, "alice", ids[2], DRUGS, minute=4)
    code(store, "alice", ids[3], DEBT, minute=5)
    code(store, "alice", ids[4], RANSOM, minute=6)
    sat = R.saturation(store, cb, coder="alice", run=2)
    labels = {pid: store.post(pid)["label"] for pid in ids}
    assert [p.label for p in sat.points] == [labels[i] for i in (ids[5], ids[0], ids[1], ids[2], ids[3], ids[4])]
    assert [p.new for p in sat.points] == [2, 1, 0, 1, 0, 0]  # DEBT brings FIN along
    assert [p.cumulative for p in sat.points] == [2, 3, 3, 4, 4, 4]
    assert sat.saturated_at == 4 and sat.total == 4
    assert "after post 4 of 6" in saturation_summary(sat)
    assert R.saturation(store, cb, coder="alice", run=2, level="code").points[-1].cumulative == 2
    chart = saturation_chart(sat, width=60, height=12)
    assert "\x1b" not in chart and "Saturation" in chart
    with pytest.raises(ReportError, match="at least one"):
        R.saturation(store, cb, coder="alice", run=0)


# ---------------------------------------------------------------- quotes


def test_quotes_are_masked_labelled_and_grouped(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path, nickname="真名小红")
    code(store, "alice", ids[0], RANSOM)
    code(store, "bob", ids[0], RANSOM)
    text = "我被骗到缅北 @张三 救我，小红书号：12345，电话13812345678"
    quote(store, "alice", ids[0], RANSOM, text)
    quote(store, "bob", ids[0], RANSOM, text)  # the same sentence from both coders: one row
    quote(store, "alice", ids[1], DRUGS, "[@click=app.quit]x \x1b[31mred")
    rows = R.quotes(store, cb)
    assert len(rows) == 2
    first = rows[0]
    label = store.post(ids[0])["label"]
    assert first.label == label and first.coders == ("alice", "bob")
    assert first.text == "我被骗到缅北 @*** 救我，小红书号：***，电话***"
    assert first.path == "Targeting › Financial instability › Ransom"
    blob = json.dumps([r.__dict__ for r in rows], ensure_ascii=False)
    assert "12345" not in blob and "张三" not in blob and "真名小红" not in blob
    assert store.post(ids[0])["platform_id"] not in blob
    assert "\x1b" not in rows[1].text
    assert [r.code_id for r in R.quotes(store, cb, code_id=FIN)] == [RANSOM]  # a code includes its sub-codes
    assert f"({label})" in quotes_markdown(rows)


@pytest.mark.parametrize(("raw", "masked"), [
    ("找@李四 帮忙", "找@*** 帮忙"),
    ("＠王五你好", "@***"),
    ("vx: abc_123 加我", "vx: *** 加我"),
    ("QQ 123456789", "QQ ***"),
    ("抖音号:douyin88", "抖音号:***"),
    ("call +95 9 123 456 789 now", "call *** now"),
    ("mail a.b@example.com", "mail ***@***"),
    ("see https://www.xiaohongshu.com/user/profile/5f0e 点击", "see <link> 点击"),
    ("note 64b0c0ffee0123456789abcd", "note ***"),
    ("他被骗了50000元", "他被骗了50000元"),
])
def test_mask_patterns(raw: str, masked: str) -> None:
    assert mask(raw) == masked


# ---------------------------------------------------------------- screening


def test_screening_matches_the_study_figures(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path, n=100)
    cells = [(1, 0.9)] * 31 + [(0, 0.8)] * 13 + [(1, 0.1)] * 3 + [(0, 0.2)] * 53  # TP, FP, FN, TN
    with store.db.conn:
        store.db.conn.executemany(SCORE_SQL,
                                  [(pid, score) for pid, (_, score) in zip(ids, cells, strict=False)])
    store.record_many(Event("alice", pid, "relevance", value=str(truth), arm="blind")
                      for pid, (truth, _) in zip(ids, cells, strict=False))
    s = R.screening(store, cb)
    b = s.scores
    assert (b.tp, b.fp, b.fn, b.tn) == (31, 13, 3, 53)
    assert b.accuracy == pytest.approx(0.84) and round(b.false_negative_rate, 3) == 0.088
    assert s.threshold == 0.6 and s.coder == "alice" and s.n_compared == 100
    strict = R.screening(store, cb, threshold=0.85).scores
    assert (strict.tp, strict.fp) == (31, 0)


def test_screening_agrees_with_the_prelabel_scorecard(tmp_path: Path, cb: Codebook) -> None:
    learn = pytest.importorskip("tui.core.prelabel.scorecard")
    store, ids = make_project(tmp_path, n=40)
    with store.db.conn:
        store.db.conn.executemany(SCORE_SQL,
                                  [(pid, (i * 37 % 100) / 100) for i, pid in enumerate(ids)])
    store.record_many(Event("alice", pid, "relevance", value=str(i % 3 % 2), arm="blind")
                      for i, pid in enumerate(ids))
    ours = R.screening(store, cb, coder="alice").scores
    theirs = learn.evaluate(store, cb, coder="alice", source="suggestions", threshold=0.6)
    assert (ours.tp, ours.fp, ours.fn, ours.tn) == (theirs.tp, theirs.fp, theirs.fn, theirs.tn)
    assert ours.kappa == pytest.approx(theirs.kappa)


def test_screening_needs_scores_and_a_reference(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT)
    with pytest.raises(ReportError, match="prelabel"):
        R.screening(store, cb)
    with store.db.conn:
        store.db.conn.execute(SCORE_SQL, (ids[0], 0.7))
    code(store, "bob", ids[1], DRUGS)
    with pytest.raises(ReportError, match="--coder"):
        R.screening(store, cb)
    assert R.screening(store, cb, coder="alice").scores.tp == 1


# ---------------------------------------------------------------- bad input


def test_empty_project_and_unknown_coder(tmp_path: Path, cb: Codebook) -> None:
    empty = Store(tmp_path / "empty.db")
    with pytest.raises(ReportError, match="no posts"):
        R.frequencies(empty, cb)
    store, ids = make_project(tmp_path)
    with pytest.raises(ReportError, match="no decisions"):
        R.frequencies(store, cb)
    code(store, "alice", ids[0], DEBT)
    with pytest.raises(ReportError, match="'carol' has no decisions"):
        R.frequencies(store, cb, coder="carol")
    with pytest.raises(ReportError, match="'consensus' has no agreed"):
        R.saturation(store, cb, coder=CONSENSUS)


# ---------------------------------------------------------------- tables and exports


def test_codings_long_and_wide(tmp_path: Path, cb: Codebook) -> None:
    store, ids = make_project(tmp_path)
    code(store, "alice", ids[0], DEBT, DRUGS)
    code(store, "alice", ids[1], relevance="0")
    data = ReportData.load(store, cb)
    long = codings_long(data)
    recs = long.records()
    assert len(recs) == 3
    debt = next(r for r in recs if r["code_id"] == DEBT)
    assert debt["code"] == FIN and debt["category"] == "Targeting" and debt["level"] == "sub-code"
    assert debt["label"] == store.post(ids[0])["label"] and debt["relevance"] == 1
    assert any(r["relevance"] == 0 and r["code_id"] == "" for r in recs)
    wide = codings_wide(data).records()
    row = next(r for r in wide if r["label"] == debt["label"])
    assert (row[DEBT], row[FIN], row["targeting"], row[RANSOM], row[DRUGS]) == (1, 1, 1, 0, 1)


def test_neutralise_and_writers() -> None:
    for bad in ("=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("fine") == "fine" and neutralise(-3) == -3
    t = Table("T", ["a", "b"], [["=HYPERLINK(\"x\")", 1], ["ok|pipe", None]])
    rows = list(csv.reader(io.StringIO(to_csv(t))))
    assert rows[1][0].startswith("'=") and rows[2] == ["ok|pipe", ""]
    assert json.loads(to_json(t.records()))[0]["a"].startswith("'=")
    md = to_markdown([t])
    assert r"ok\|pipe" in md and md.count("\n| ") >= 3
    assert latex_escape(r"50% & $5 #1 a_b {x} ~y ^z \q 缅北") == (
        r"50\% \& \$5 \#1 a\_b \{x\} \textasciitilde{}y \textasciicircum{}z \textbackslash{}q 缅北")
    assert "\\begin{longtable}" in to_latex([t])


def test_writers_clean_cells_before_escaping_and_neutralising() -> None:
    from tui.core.report.writers import md_escape

    # Cleaning first: an escape sequence in front of a formula must not hide it from the neutraliser.
    assert to_csv(Table("t", ["\x1b[31mcoder"], [["\x1b[0m=HYPERLINK(\"x\")"], ["a\rb\x00"]])) == \
        "coder\n\"'=HYPERLINK(\"\"x\"\")\"\n\"a\nb\"\n"
    assert md_escape("\x1b]52;c;aGk=\x07[x]\u202e|") == "\\[x\\]\\|"
    assert latex_escape("a\x07_b\x9b2J") == "a\\_b"
    assert json.loads(to_json({"\x1b[31meve": ["\x9b1m-1\u2066"]})) == {"eve": ["'-1"]}
    md = to_markdown([Table("T\x1b[2J", ["h\x07"], [["\x1b]0;title\x07cell"]], note="n\x1b[1m")])
    assert "\x1b" not in md and "\x07" not in md and "| cell |" in md
