"""Agreement over the event log, the reconciliation API, revision notes and codebook revisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.samples import CODEBOOK
from tests.sync_helpers import (
    ADULT,
    AGE,
    CB,
    DEBT,
    DOCS,
    FIRST,
    NEWS,
    SCREEN_DISAGREE,
    SCREENED,
    TEEN,
    code,
    edited_codebook,
    pid,
    project,
    screen,
    screening_plans,
)
from tui.core.codebook.loading import parse_codebook
from tui.core.codebook.model import Codebook
from tui.core.project.events import CODE_ADD, CONSENSUS, DONE, RECONCILE, UNDO, Event
from tui.core.project.store import Store
from tui.core.sync.agreement import cohen_kappa, krippendorff_alpha
from tui.core.sync.consensus import (
    BOTH,
    DROP,
    KEEP,
    RELEVANCE_ITEM,
    SET,
    Choice,
    ConsensusError,
    apply_choice,
    compare_post,
    disagreements,
    disputed_codes,
)
from tui.core.sync.revisions import orphans, revision_notes
from tui.core.sync.tables import agreement_table

PLAN_A = {0: (1, [TEEN, FIRST]), 1: (1, [DEBT]), 2: (0, []), 3: (1, [DOCS, NEWS]), 4: (1, [DEBT, NEWS])}
PLAN_B = {0: (1, [ADULT, FIRST]), 1: (1, [DEBT, DOCS]), 2: (1, [AGE]), 3: (1, [DOCS, NEWS]), 4: (1, [DEBT, FIRST])}


@pytest.fixture
def both(tmp_path: Path) -> Store:
    """One project holding alice's and bob's decisions on five posts, and a post only alice finished."""
    s = project(tmp_path, "p")
    code(s, "alice", {**PLAN_A, 5: (1, [DOCS])}, memo="alice's memo")
    code(s, "bob", PLAN_B)
    code(s, "bob", {5: (1, [])}, done=False)
    return s


def _rows(store: Store, by: str, coders: list[str] | None = None) -> dict[str, object]:
    return {r.id: r.result for r in agreement_table(store, CB, by=by, coders=coders).rows}


def test_agreement_counts_only_posts_both_finished(both: Store) -> None:
    table = agreement_table(both, CB)
    assert table.coders == ("alice", "bob") and table.n_posts == 5  # post 5 is unfinished for bob
    # ... but bob screened it (relevant), so relevance is compared on all six posts.
    rel = table.rows[0]
    assert table.n_screened == rel.result.n_posts == 6
    assert rel.level == "relevance" and (rel.result.both, rel.result.a_only, rel.result.b_only) == (5, 0, 1)
    a = [1, 1, 0, 1, 1, 1]
    b = [1, 1, 1, 1, 1, 1]
    assert rel.result.kappa == pytest.approx(cohen_kappa(a, b))
    assert rel.result.alpha == pytest.approx(krippendorff_alpha([a, b]))


def test_codes_roll_up_subcodes_and_post_types_have_their_rows(both: Store) -> None:
    table = agreement_table(both, CB, by="code")
    levels = [r.level for r in table.rows]
    assert levels == sorted(levels, key=["relevance", "post-type", "code"].index)
    rows = {r.id: r for r in table.rows}
    assert rows[FIRST].level == "post-type" and rows[NEWS].level == "post-type"
    assert TEEN not in rows and (rows[AGE].result.both, rows[AGE].result.b_only) == (1, 1)  # teen + adult -> age
    first = rows[FIRST].result
    assert (first.both, first.a_only, first.b_only, first.neither) == (1, 0, 1, 3)
    sub = _rows(both, "subcode")
    assert (sub[TEEN].a_only, sub[ADULT].b_only, sub[AGE].b_only) == (1, 1, 1)  # type: ignore[attr-defined]
    cat = _rows(both, "category")
    assert set(cat) == {"relevance", "targeting", "control", "post-types"}
    assert (cat["targeting"].both, cat["targeting"].b_only) == (3, 1)  # type: ignore[attr-defined]
    assert list(_rows(both, "relevance")) == ["relevance"]


def test_consensus_and_unknown_coders(both: Store) -> None:
    apply_choice(both, CB, pid(both, 2), Choice(KEEP, coder="bob"))
    assert agreement_table(both, CB).coders == ("alice", "bob")  # consensus is not a coder to compare
    assert agreement_table(both, CB, coders=["alice", CONSENSUS]).n_posts == 1
    with pytest.raises(ConsensusError, match="'carol' has no events"):
        agreement_table(both, CB, coders=["alice", "carol"])
    with pytest.raises(ConsensusError, match="at least two coders"):
        agreement_table(both, CB, coders=["alice"])


def test_disagreements_sorted_with_views(both: Store) -> None:
    ds = disagreements(both, CB)
    label = {pid(both, i): both.post(pid(both, i))["label"] for i in range(6)}
    assert [d.post_id for d in ds] == sorted([pid(both, i) for i in (0, 2, 4)], key=label.get) + [pid(both, 1)]
    assert [d.count for d in ds] == [2, 2, 2, 1]  # post 3 agrees, post 4 disputes two post types
    post0 = next(d for d in ds if d.post_id == pid(both, 0))
    assert [x.item for x in post0.disputed] == [TEEN, ADULT] and post0.agreed == (FIRST,)
    assert post0.disputed[0].chosen_by == ("alice",) and post0.disputed[0].missing_from == ("bob",)
    alice = post0.views["alice"]
    assert alice.memo == "alice's memo" and alice.quotes[0].text == "post" and post0.views["bob"].memo == ""
    post2 = next(d for d in ds if d.post_id == pid(both, 2))
    assert post2.disputed[0].item == RELEVANCE_ITEM and post2.views["alice"].codes == ()
    by_code = disagreements(both, CB, sort="code")
    assert by_code[0].post_id == pid(both, 2)  # relevance first, then codebook order
    assert [d.post_id for d in disagreements(both, CB, code=AGE)] == sorted([pid(both, 0), pid(both, 2)],
                                                                            key=label.get)
    assert disputed_codes(ds) == sorted((x, 1) for x in (RELEVANCE_ITEM, TEEN, ADULT, AGE, DOCS, NEWS, FIRST))
    with pytest.raises(ConsensusError, match="Unknown sort"):
        disagreements(both, CB, sort="random")


def _cons(store: Store, i: int) -> tuple[int | None, set[str], bool]:
    st = store.state(CONSENSUS, pid(store, i))
    return st.relevance, set(st.codes), st.done


def test_whole_post_choices(both: Store) -> None:
    apply_choice(both, CB, pid(both, 0), Choice(KEEP, coder="bob", type="wrong sub-code"))
    assert _cons(both, 0) == (1, {ADULT, FIRST}, True)
    apply_choice(both, CB, pid(both, 0), Choice(BOTH))  # a second thought replaces the first
    assert _cons(both, 0) == (1, {TEEN, ADULT, FIRST}, True)
    apply_choice(both, CB, pid(both, 0), Choice(DROP))
    assert _cons(both, 0) == (1, {FIRST}, True)
    apply_choice(both, CB, pid(both, 0), Choice(SET, codes=frozenset({AGE, NEWS})))
    assert _cons(both, 0) == (1, {AGE, NEWS}, True)
    apply_choice(both, CB, pid(both, 2), Choice(KEEP, coder="alice"))
    assert _cons(both, 2) == (0, set(), True)
    apply_choice(both, CB, pid(both, 2), Choice(BOTH))
    assert _cons(both, 2) == (1, {AGE}, True)
    assert not any(d.post_id == pid(both, 0) for d in disagreements(both, CB, unresolved_only=True))


def test_item_choices_finish_post_when_all_decided(both: Store) -> None:
    p = pid(both, 0)
    st = apply_choice(both, CB, p, Choice(KEEP, coder="alice", item=TEEN, type="wrong sub-code"))
    assert set(st.codes) == {FIRST, TEEN} and not st.done  # starts from what both agreed on
    assert [x.item for x in compare_post(both, CB, p).open_items] == [ADULT]
    st = apply_choice(both, CB, p, Choice(DROP, item=ADULT, type="wrong sub-code"))
    assert set(st.codes) == {FIRST, TEEN} and st.done
    st = apply_choice(both, CB, pid(both, 2), Choice(BOTH, item=RELEVANCE_ITEM))
    assert st.relevance == 1 and not st.done
    st = apply_choice(both, CB, pid(both, 2), Choice(KEEP, coder="bob", item=AGE))
    assert set(st.codes) == {AGE} and st.done


def test_bad_choices_write_nothing(both: Store) -> None:
    n = len(both.events())
    for choice, match in [
        (Choice("pick"), "Unknown choice"),
        (Choice(KEEP, coder="carol"), "compared coders"),
        (Choice(BOTH, type="typo"), "Unknown disagreement type"),
        (Choice(SET, codes=frozenset({"no/such-code"})), "not in the codebook"),
        (Choice(SET, item=RELEVANCE_ITEM), "must be 0 or 1"),
        (Choice(SET, relevance=2), "must be 0 or 1"),
    ]:
        with pytest.raises(ConsensusError, match=match):
            apply_choice(both, CB, pid(both, 0), choice)
    with pytest.raises(ConsensusError, match="no post"):
        apply_choice(both, CB, 99999, Choice(BOTH))
    assert len(both.events()) == n


def test_revision_notes_grouped_by_code(both: Store) -> None:
    apply_choice(both, CB, pid(both, 0), Choice(KEEP, coder="alice", item=TEEN, type="unclear definition"),
                 by="lead")
    apply_choice(both, CB, pid(both, 1), Choice(BOTH, type="missed code", note="bob saw the passport"))
    apply_choice(both, CB, pid(both, 4), Choice(BOTH, type="missed code"))  # no note, not unclear: left out
    undone = apply_choice(both, CB, pid(both, 3), Choice(BOTH, type="unclear definition", note="undone"))
    assert undone.done
    last = both.events(coder=CONSENSUS, post_id=pid(both, 3))
    both.record(Event(CONSENSUS, pid(both, 3), UNDO, ref=next(e["id"] for e in last if e["kind"] == RECONCILE)))
    notes = revision_notes(both, CB)
    assert list(notes) == [TEEN, DOCS]
    assert notes[TEEN][0].type == "unclear definition" and notes[TEEN][0].by == "lead"
    assert notes[DOCS][0].note == "bob saw the passport" and notes[DOCS][0].label == both.post(pid(both, 1))["label"]
    value = json.loads(both.events(coder=CONSENSUS, post_id=pid(both, 1))[-2]["value"])
    assert value["disputed"] == [DOCS] and value["choice"] == BOTH


def _moved_and_renamed() -> Codebook:
    """The study codebook with Debt renamed and moved from Financial instability to Over-reliance."""
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    codes = {c["id"]: c for cat in data["categories"] for c in cat["codes"]}
    source = codes["targeting/financial-instability"]["subcodes"]
    debt = source.pop(next(i for i, c in enumerate(source) if c["id"] == DEBT))
    target = codes["targeting/overtrust"]["subcodes"]
    used = {c["key"] for c in target}
    debt.update(name="Owing money", key=next(k for k in "bcdefghijklmnoprstvwy" if k not in used))
    target.append(debt)
    return parse_codebook(yaml.safe_dump(data, allow_unicode=True), "moved.yaml")


def test_renamed_or_moved_code_keeps_codings(both: Store) -> None:
    moved = _moved_and_renamed()
    assert moved.hash != CB.hash and moved.path_str(DEBT).endswith("Over-reliance and overtrust › Owing money")
    old, new = agreement_table(both, CB, by="subcode").rows, agreement_table(both, moved, by="subcode").rows
    assert [(r.id, r.result) for r in old] == [(r.id, r.result) for r in new]  # same posts, same figures
    assert orphans(both, moved) == []
    rows = _rows(both, "code")
    moved_rows = {r.id: r.result for r in agreement_table(both, moved, by="code").rows}
    assert "targeting/financial-instability" in rows and "targeting/financial-instability" not in moved_rows
    assert moved_rows["targeting/overtrust"].both == rows["targeting/financial-instability"].both  # type: ignore


def test_removed_code_listed_as_orphan(both: Store) -> None:
    gone = edited_codebook([("- id: control/seized-documents\n", "- id: control/held-documents\n")])
    found = orphans(both, gone)
    assert [o.code_id for o in found] == [DOCS] and found[0].coders == ("alice", "bob")
    assert set(found[0].labels) == {both.post(pid(both, i))["label"] for i in (1, 3, 5)}
    both.record(Event("alice", pid(both, 7), CODE_ADD, code_id="gone/old"))
    both.record(Event("alice", pid(both, 7), DONE, value="1"))
    assert [o.code_id for o in orphans(both, CB)] == ["gone/old"]


# ---------------------------------------------------------------- screening mode: relevance without `done`


@pytest.fixture
def screened(tmp_path: Path) -> Store:
    """Two coders screened the same 150 posts in screening mode (relevance only, nothing marked done)."""
    s = project(tmp_path, "screening", SCREENED)
    a, b = screening_plans()
    screen(s, "alice", a)
    screen(s, "bob", b)
    return s


def test_screening_agreement_covers_every_post_both_screened(screened: Store) -> None:
    from sklearn.metrics import cohen_kappa_score

    a, b = screening_plans()
    table = agreement_table(screened, CB, by="relevance")
    rel = table.rows[0].result
    both_out = sum(1 for i in a if a[i] == b[i] == 0)
    assert table.n_screened == rel.n_posts == SCREENED
    assert table.n_posts == both_out  # codes: only the posts both screened out count as finished
    assert rel.disagree == SCREEN_DISAGREE
    assert rel.percent == pytest.approx((SCREENED - SCREEN_DISAGREE) / SCREENED)
    expected = cohen_kappa_score([a[i] for i in range(SCREENED)], [b[i] for i in range(SCREENED)])
    assert rel.kappa == pytest.approx(expected, abs=1e-12) and rel.kappa < 0.6


def test_screening_disagreements_are_listed_for_reconciliation(screened: Store) -> None:
    a, b = screening_plans()
    found = disagreements(screened, CB)
    assert len(found) == SCREEN_DISAGREE
    labels = {p["id"]: int(p["platform_id"], 16) for p in screened.posts()}
    assert {labels[d.post_id] for d in found} == {i for i in a if a[i] != b[i]}
    assert all([x.item for x in d.disputed] == [RELEVANCE_ITEM] for d in found)
    d = found[0]
    apply_choice(screened, CB, d.post_id, Choice(KEEP, coder="bob", item=RELEVANCE_ITEM), by="lead")
    assert len(disagreements(screened, CB, unresolved_only=True)) == SCREEN_DISAGREE - 1


def test_codes_still_wait_for_finished_posts(screened: Store) -> None:
    # Both screened note 1 as relevant; alice also coded and finished it, bob is still coding it.
    one = pid(screened, 1)
    code(screened, "alice", {1: (1, [TEEN])})
    screened.record(Event("bob", one, CODE_ADD, code_id=ADULT))
    table = agreement_table(screened, CB, by="subcode")
    assert table.n_screened == SCREENED and len(table.rows) == 1  # no finished post carries a code
    assert one not in {d.post_id for d in disagreements(screened, CB)}
    assert compare_post(screened, CB, one).disputed == ()  # not a disagreement while bob is still coding
    screened.record(Event("bob", one, DONE, value="1"))
    assert {x.item for x in compare_post(screened, CB, one).disputed} == {ADULT, TEEN}
    assert one in {d.post_id for d in disagreements(screened, CB)}
