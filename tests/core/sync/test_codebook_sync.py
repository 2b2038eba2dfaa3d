"""Codebook changes through exchange files: two coders' projects, both ways, the differences and their resolution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.sync_helpers import ADULT, CB, DOCS, FIRST, TEEN, counts, project, rewrite
from tui.core.coding.open_coding import create_code, edit_code, merge_codes, retire_code
from tui.core.coding.session import Session
from tui.core.project.codebook_log import effective_codebook
from tui.core.project.events import CONSENSUS, Event
from tui.core.project.store import Store
from tui.core.sync.codebook_choice import BOTH, TYPED, choose, options
from tui.core.sync.codebook_diff import EDIT, GONE, PLACE, SIMILAR, CodebookDiff, codebook_differences, similarity
from tui.core.sync.consensus import ConsensusError
from tui.core.sync.exchange import SyncError, export_events
from tui.core.sync.merge import MergeReport, merge_files


def merge(store: Store, *paths: Path) -> MergeReport:
    """Merge the way `qualtui merge` does: codes resolved in the effective codebook after the merge."""
    cb = effective_codebook(store.db.conn, CB)[0]
    return merge_files(store, list(paths), resolve=cb.resolve, codebook_hash=cb.hash, file_codebook=CB)


def export(store: Store, coder: str, path: Path) -> Path:
    export_events(store, path, coder=coder, codebook_hash=CB.hash)
    return path


def shape(store: Store) -> tuple[Any, ...]:
    """The effective codebook as the coders see it: every node with its name, key, place and definition."""
    cb = effective_codebook(store.db.conn, CB)[0]
    nodes = tuple((n.id, n.name, n.key, getattr(n, "parent_id", ""), getattr(n, "definition", ""),
                   getattr(n, "aliases", ()), getattr(n, "former_ids", ())) for n in cb.nodes())
    return cb.hash, nodes, tuple(sorted(n.id for n in cb.retired))


@pytest.fixture
def two(tmp_path: Path) -> dict[str, Any]:
    """Alice and Bob coding the same posts on two machines, each creating and refining codes."""
    pa, pb = project(tmp_path, "alice"), project(tmp_path, "bob")
    b = Session(pb, CB, "bob")
    b.go(0)
    b.add_code(TEEN)  # bob uses Teenagers, which alice will merge away
    b.go(1)
    bob = {
        "sold": create_code(b, "Sold on", definition="Resold to another compound.", parent="control"),
        "debt": create_code(b, "Debt bondge", definition="Owes a debt to the boss.", parent="control",
                            assign=False, on_post=False),
        "resold": create_code(b, "被转卖", definition="再次被卖到别处。", parent="targeting", assign=False),
        "survivor": create_code(b, "Survivor account", definition="Told by a survivor.", parent=FIRST,
                                assign=False, on_post=False),
    }
    edit_code(b, DOCS, name="Documents taken", on_post=False)
    a = Session(pa, CB, "alice")
    a.go(1)
    alice = {
        "sold": create_code(a, "Sold on", definition="Sold again.", parent="targeting"),
        "debt": create_code(a, "Debt bondage", definition="Owes a debt to the compound.", parent="control",
                            assign=False, on_post=False),
        "resold": create_code(a, "被卖", definition="被卖。", parent="targeting", aliases=["Resold"], assign=False),
    }
    edit_code(a, DOCS, name="Seized papers", on_post=False)
    merge_codes(a, TEEN, ADULT, on_post=False)
    retire_code(a, FIRST, on_post=False)  # bob gave it a sub-code first: skipped once both are merged
    a.undo()  # the retire made on no post, undone on no post
    retire_code(a, FIRST, on_post=False)
    return {"pa": pa, "pb": pb, "alice": alice, "bob": bob, "dir": tmp_path}


def test_codebook_changes_travel_both_ways_idempotently_and_converge(two: dict[str, Any]) -> None:
    pa, pb, tmp = two["pa"], two["pb"], two["dir"]
    fa, fb = export(pa, "alice", tmp / "a.qualtui.jsonl"), export(pb, "bob", tmp / "b.qualtui.jsonl")
    lines = [json.loads(x) for x in fa.read_text(encoding="utf-8").splitlines()[1:]]
    assert {x["kind"] for x in lines if not x["platform"]} == {"code_create", "code_edit", "code_merge",
                                                               "code_retire", "undo"}
    into_b = merge(pb, fa)
    assert into_b.codebook_changes == 7 and into_b.unknown_codes == []
    assert into_b.skipped == [f"alice's code_retire of '{FIRST}' at " + into_b.skipped[0].split(" at ")[1]]
    assert "'First-person experience' still has codes in use" in into_b.skipped[0]
    into_a = merge(pa, fb)
    assert into_a.codebook_changes == 5 and len(into_a.skipped) == 1
    no_post = pb.db.conn.execute("SELECT count(*) FROM events WHERE post_id IS NULL").fetchone()[0]
    assert no_post == 9  # bob's 3, alice's 6 (the undo too): merged on no post, not dropped
    assert shape(pa) == shape(pb)
    before = counts(pa), counts(pb)
    again = merge(pa, fb), merge(pb, fa)
    assert [r.added for r in again] == [0, 0] and (counts(pa), counts(pb)) == before
    assert shape(pa) == shape(pb)


def _by_kind(found: list[CodebookDiff]) -> dict[str, list[CodebookDiff]]:
    out: dict[str, list[CodebookDiff]] = {}
    for d in found:
        out.setdefault(d.kind, []).append(d)
    return out


def test_the_differences_are_found_resolved_by_consensus_and_the_codebooks_converge(two: dict[str, Any]) -> None:
    pa, pb, tmp = two["pa"], two["pb"], two["dir"]
    merge(pb, export(pa, "alice", tmp / "a.qualtui.jsonl"))
    merge(pa, export(pb, "bob", tmp / "b.qualtui.jsonl"))
    found = codebook_differences(pb, CB)
    assert codebook_differences(pa, CB) == found  # both projects see the same differences
    kinds = _by_kind(found)
    assert sorted(kinds) == [EDIT, GONE, PLACE, SIMILAR] and len(kinds[SIMILAR]) == 2
    place = kinds[PLACE][0]
    assert [s.coder for s in place.sides] == ["alice", "bob"] and [s.value for s in place.sides] == [
        "targeting", "control"]
    debt = next(d for d in kinds[SIMILAR] if "Debt" in d.sides[0].says)
    zh = next(d for d in kinds[SIMILAR] if d is not debt)
    assert {s.code_id for s in zh.sides} == {two["alice"]["resold"].id, two["bob"]["resold"].id}
    edit = kinds[EDIT][0]
    assert edit.field == "name" and [s.value for s in edit.sides] == ["Seized papers", "Documents taken"]
    gone = kinds[GONE][0]
    assert gone.sides[0].says.startswith("merged it into") and gone.sides[1].says == "still has it on 1 posts"
    assert [o.key for o in options(edit, effective_codebook(pb.db.conn, CB)[0])] == ["a", "b", TYPED]

    # A refused choice is one sentence and writes nothing.
    n = counts(pb)["events"]
    with pytest.raises(ConsensusError, match=r"^The name is 300 characters long; .* Nothing was recorded\.$"):
        choose(pb, CB, edit, TYPED, typed="x" * 300, by="lead")
    with pytest.raises(ConsensusError, match="^Type the new name first.$"):
        choose(pb, CB, edit, TYPED, typed=" ", by="lead")
    assert counts(pb)["events"] == n

    choose(pb, CB, debt, "a", by="lead")  # keep alice's id, merge bob's into it
    assert choose(pb, CB, zh, BOTH, by="lead") == ["kept both: '被卖', '被转卖'"]
    choose(pb, CB, place, "a", by="lead")  # under targeting: the two 'Sold on' are now siblings, alike
    choose(pb, CB, edit, TYPED, typed="Seized documents", by="lead")
    choose(pb, CB, gone, "b", by="lead")  # undo alice's merge: Teenagers is back
    with pytest.raises(ConsensusError, match="already resolved"):
        choose(pb, CB, debt, "a")
    left = codebook_differences(pb, CB)
    assert [(d.kind, {s.code_id for s in d.sides}) for d in left] == [
        (SIMILAR, {two["alice"]["sold"].id, two["bob"]["sold"].id})]
    choose(pb, CB, left[0], "b", by="lead")
    assert codebook_differences(pb, CB) == []
    cb = effective_codebook(pb.db.conn, CB)[0]
    assert cb.resolve(two["bob"]["debt"].id) == two["alice"]["debt"].id
    assert cb.node(DOCS).name == "Seized documents" and cb.node(TEEN) is not None and not cb.is_retired(TEEN)
    assert cb.resolve(two["alice"]["sold"].id) == two["bob"]["sold"].id
    assert cb.node(two["bob"]["sold"].id).parent_id == "targeting"

    # The consensus file brings the same codebook to alice's project, and nothing comes back twice.
    fc = export(pb, CONSENSUS, tmp / "c.qualtui.jsonl")
    report = merge(pa, fc)
    assert (report.added, report.codebook_changes, report.skipped) == (6, 5, [])  # 5 changes and 1 undo
    assert shape(pa) == shape(pb) and codebook_differences(pa, CB) == []
    assert merge(pa, fc).added == 0 and shape(pa) == shape(pb)


def test_similar_names_in_english_and_chinese() -> None:
    def code(name: str, definition: str = "", aliases: tuple[str, ...] = ()) -> Any:
        from tui.core.codebook.model import Code

        return Code("x", name, "k", definition, aliases, 1.0, (), (), "c", "c", 2)

    assert similarity(code("Debt bondage"), code("debt  Bondge")) == "names 96% alike"
    assert similarity(code("被卖"), code("被转卖")) == "names 80% alike"
    assert similarity(code("被卖"), code("被卖到柬埔寨")) == "one name contains the other"
    assert similarity(code("被卖"), code("诈骗")) is None
    assert similarity(code("被卖", aliases=("Resold",)), code("resold")) == "the same name or alias"
    assert similarity(code("Ransom"), code("Authority")) is None
    assert similarity(code("A", "Held until the family pays."), code("B", "Held until the family pays up.")) \
        == "definitions 91% alike"


def test_an_undo_on_no_post_must_take_back_a_codebook_change(two: dict[str, Any]) -> None:
    pa, pb, tmp = two["pa"], two["pb"], two["dir"]
    path = export(pa, "alice", tmp / "a.qualtui.jsonl")
    rewrite(path, lambda h, b: [x.update(ref="0123abcd") for x in b if x["kind"] == "undo"])
    before = counts(pb)
    with pytest.raises(SyncError, match=r"^a\.qualtui\.jsonl has an undo or redo made on no post that takes back "
                                        r"event 0123abcd, which is no codebook change .* Nothing was merged\.$"):
        merge(pb, path)
    assert counts(pb) == before


def test_a_bad_change_value_refuses_the_whole_merge(two: dict[str, Any]) -> None:
    pa, pb, tmp = two["pa"], two["pb"], two["dir"]
    path = export(pa, "alice", tmp / "a.qualtui.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, x in enumerate(lines) if '"code_merge"' in x) + 1
    rewrite(path, lambda h, b: [x.update(value='{"into": ') for x in b if x["kind"] == "code_merge"])
    before = counts(pb)
    with pytest.raises(SyncError) as err:
        merge(pb, path)
    assert str(err.value) == (f"a.qualtui.jsonl line {n}: a code_merge event's value is not a JSON object. "
                              "Nothing was merged.")
    assert counts(pb) == before


def test_a_change_the_fold_skips_is_named_with_its_code_id_as_text(two: dict[str, Any]) -> None:
    pa, pb, tmp = two["pa"], two["pb"], two["dir"]
    pa.record(Event("alice", None, "code_edit", code_id="gone/[@click=app.quit]x", value='{"name": "x"}'))
    report = merge(pb, export(pa, "alice", tmp / "a.qualtui.jsonl"))
    line = next(s for s in report.skipped if "gone/" in s)
    assert line.startswith("alice's code_edit of 'gone/[@click=app.quit]x' at ") and line.endswith(
        "There is no code 'gone/[@click=app.quit]x' in the codebook.")


def test_an_undo_that_comes_in_alone_names_what_the_fold_now_skips(tmp_path: Path) -> None:
    pa, pb = project(tmp_path, "a"), project(tmp_path, "b")
    a = Session(pa, CB, "alice")
    made = create_code(a, "Sold on", definition="Resold.", parent="control", assign=False, on_post=False)
    merge(pb, export(pa, "alice", tmp_path / "a1.qualtui.jsonl"))
    b = Session(pb, CB, "bob")
    create_code(b, "Sold twice", definition="Resold twice.", parent=made.id, assign=False, on_post=False)
    a.undo()  # alice takes her code back: bob's sub-code has no parent any more
    report = merge(pb, export(pa, "alice", tmp_path / "a2.qualtui.jsonl"))
    assert (report.added, report.codebook_changes) == (1, 0)
    assert len(report.skipped) == 1 and report.skipped[0].startswith("bob's code_create of 'sold-twice-")
    assert report.skipped[0].endswith(f"There is no parent {made.id!r} in the codebook.")
