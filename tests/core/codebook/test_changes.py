"""Open coding's fold: the codebook file plus the changes made while coding, deterministic and checked."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from tui.core.codebook.changes import (
    CODE_CREATE,
    CODE_EDIT,
    CODE_MERGE,
    CODE_MOVE,
    CODE_RETIRE,
    Change,
    ChangeRefused,
    OpenCodebook,
    fold,
    new_node_id,
    propose_key,
)
from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.model import UNPLACED, Codebook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEBT = "targeting/financial-instability/debt"
FIN = "targeting/financial-instability"
AGE = "targeting/age"
TEEN = "targeting/age/teenagers"
_t = itertools.count()


@pytest.fixture
def cb() -> Codebook:
    """The small test codebook."""
    return load_codebook(FIXTURES / "small.yaml")


def ch(kind: str, code_id: str, coder: str = "alice", **value: object) -> Change:
    """A change made one second after the previous one."""
    n = next(_t)
    return Change(kind, code_id, value, coder, f"2026-11-22T10:{n // 60 % 60:02d}:{n % 60:02d}.000Z", f"ev{n:06d}")


def test_a_created_code_is_reachable_by_id_keys_and_path(cb: Codebook) -> None:
    eff, done = fold(cb, [ch(CODE_CREATE, "sold-on-1a2b3c", name="Sold on", definition="Resold.", parent=FIN)])
    assert done[0].problem is None
    assert eff.node("sold-on-1a2b3c").name == "Sold on"
    assert eff.keys("sold-on-1a2b3c") == "1fs"
    assert eff.by_keys("1fs").id == "sold-on-1a2b3c"
    assert eff.path_str("sold-on-1a2b3c") == "Recruitment — Targeting › Financial instability › Sold on"
    assert eff.node("sold-on-1a2b3c").severity == 1.5  # inherited like a code from the file
    assert eff.hash != cb.hash and eff.file_codebook() is cb


def test_codes_start_at_the_top_level_until_axial_coding_places_them() -> None:
    skeleton = parse_codebook('version: "1"\nname: Empty\n')
    assert skeleton.categories == ()
    eff, _ = fold(skeleton, [ch(CODE_CREATE, "fear-aaaaaa", name="Fear", definition="d")])
    assert [c.id for c in eff.categories] == [UNPLACED]
    assert eff.keys("fear-aaaaaa") == "0f"
    eff, done = fold(skeleton, [ch(CODE_CREATE, "fear-aaaaaa", name="Fear", definition="d"),
                                ch(CODE_CREATE, "control-bbbbbb", name="Control", category=True),
                                ch(CODE_MOVE, "fear-aaaaaa", parent="control-bbbbbb")])
    assert [d.problem for d in done] == [None, None, None]
    assert [c.id for c in eff.categories] == ["control-bbbbbb"]  # the empty "not yet placed" bin is hidden
    assert eff.keys("fear-aaaaaa") == "1f"


def test_rename_define_alias_key(cb: Codebook) -> None:
    eff, done = fold(cb, [ch(CODE_EDIT, AGE, name="Age group", definition="New.", aliases=["年龄"], key="g")])
    node = eff.node(AGE)
    assert (node.name, node.definition, node.aliases, node.key) == ("Age group", "New.", ("年龄",), "g")
    assert "renamed 'Age' to 'Age group'" in done[0].summary


def test_merge_moves_codings_and_sub_codes_and_keeps_the_old_id(cb: Codebook) -> None:
    eff, done = fold(cb, [ch(CODE_MERGE, AGE, into=FIN)])
    assert done[0].problem is None
    assert eff.resolve(AGE) == FIN and eff.resolve("targeting/money-problems") == FIN
    assert eff.parent(TEEN).id == FIN
    assert "Age" in eff.node(FIN).aliases


def test_retire_keeps_the_name_but_offers_it_no_more(cb: Codebook) -> None:
    eff, _ = fold(cb, [ch(CODE_RETIRE, DEBT, retired=True)])
    assert eff.is_retired(DEBT) and eff.node(DEBT).name == "Debt"
    assert DEBT not in {c.id for c in eff.codes()}
    assert eff.by_keys("1fd") is None
    assert eff.path_str(DEBT).endswith("Debt")
    back, _ = fold(eff, [ch(CODE_RETIRE, DEBT, retired=False)])
    assert not back.is_retired(DEBT) and back.by_keys("1fd").id == DEBT


@pytest.mark.parametrize(("change", "sentence"), [
    (lambda: ch(CODE_CREATE, "x-aaaaaa", name="  "), "A code needs a name."),
    (lambda: ch(CODE_CREATE, "x-aaaaaa", name="X", parent=TEEN),
     "'Teenagers' is a sub-code, and a sub-code cannot have its own; choose its code or a category."),
    (lambda: ch(CODE_CREATE, "x-aaaaaa", name="X", parent="nope"), "There is no parent 'nope' in the codebook."),
    (lambda: ch(CODE_CREATE, "Bad Id", name="X"), "'Bad Id' is not a valid code id"),
    (lambda: ch(CODE_CREATE, AGE, name="X"), f"The id '{AGE}' is already used by 'Age'."),
    (lambda: ch(CODE_EDIT, DEBT, key="r"), "The key 'r' is already used next to 'Debt'."),
    (lambda: ch(CODE_EDIT, DEBT, key="q"), "The key 'q' cannot be used"),
    (lambda: ch(CODE_EDIT, DEBT, name=""), "A code needs a name."),
    (lambda: ch(CODE_MERGE, AGE, into=AGE), "'Age' cannot be merged into itself."),
    (lambda: ch(CODE_MERGE, AGE, into=TEEN), "'Age' cannot be merged into one of its own sub-codes."),
    (lambda: ch(CODE_MOVE, AGE, parent=TEEN), "'Teenagers' is a sub-code, and a sub-code cannot have its own"),
    (lambda: ch(CODE_MOVE, AGE, parent=FIN), "'Age' has sub-codes, and a sub-code cannot have its own"),
    (lambda: ch(CODE_MOVE, "targeting", parent=AGE), "A category stays at the top; move its codes instead."),
    (lambda: ch(CODE_RETIRE, AGE, retired=True), "'Age' still has codes in use; retire, move or merge them first."),
    (lambda: ch(CODE_EDIT, "gone", name="X"), "There is no code 'gone' in the codebook."),
])
def test_an_invalid_change_is_one_sentence_and_changes_nothing(cb: Codebook, change, sentence: str) -> None:
    work = OpenCodebook(cb)
    with pytest.raises(ChangeRefused) as e:
        work.check(change())
    assert str(e.value).startswith(sentence) and str(e.value).endswith(".") and "\n" not in str(e.value)
    assert work.build().categories == cb.categories


def test_a_move_into_its_own_sub_tree_is_refused(cb: Codebook) -> None:
    eff, _ = fold(cb, [ch(CODE_CREATE, "x-aaaaaa", name="X", parent="")])
    with pytest.raises(ChangeRefused, match="cannot move under itself"):
        OpenCodebook(eff).check(ch(CODE_MOVE, FIN, parent=FIN))


def test_a_parent_retired_meanwhile_skips_the_change_in_the_history(cb: Codebook) -> None:
    eff, done = fold(cb, [ch(CODE_RETIRE, TEEN), ch(CODE_RETIRE, AGE),
                          ch(CODE_CREATE, "kids-aaaaaa", name="Kids", parent=AGE, coder="bob")])
    assert done[2].problem == "'Age' was retired; choose a parent in use."
    assert eff.node("kids-aaaaaa") is None


def test_the_fold_is_the_same_whatever_order_the_rows_arrive_in(cb: Codebook) -> None:
    changes = [ch(CODE_CREATE, "a-aaaaaa", name="Alpha", parent=AGE, key="b"),
               ch(CODE_CREATE, "b-bbbbbb", name="Beta", parent=AGE, key="b", coder="bob"),  # same key, other coder
               ch(CODE_EDIT, "a-aaaaaa", name="Alpha 2"), ch(CODE_MOVE, "b-bbbbbb", parent=FIN),
               ch(CODE_MERGE, "a-aaaaaa", into="b-bbbbbb", coder="bob")]
    first, _ = fold(cb, changes)
    for _ in range(5):
        random.shuffle(changes)
        again, _ = fold(cb, changes)
        assert again == first and again.hash == first.hash
    _, done = fold(cb, changes)
    assert "key 'b' was taken" in done[1].summary


def test_folding_one_more_change_gives_the_full_folds_result(cb: Codebook) -> None:
    changes = [ch(CODE_CREATE, "a-aaaaaa", name="Alpha", parent=AGE), ch(CODE_EDIT, "a-aaaaaa", name="A2")]
    step, _ = fold(cb, changes[:1])
    step, _ = fold(step, changes[1:])
    whole, _ = fold(cb, changes)
    assert step == whole and step.hash == whole.hash and step.file_codebook() is cb


def test_changes_already_in_the_file_do_nothing(cb: Codebook) -> None:
    changes = [ch(CODE_CREATE, "a-aaaaaa", name="Alpha", parent=AGE, definition="d"), ch(CODE_MERGE, TEEN, into=FIN),
               ch(CODE_MOVE, "a-aaaaaa", parent=FIN)]
    eff, _ = fold(cb, changes)
    again, done = fold(eff, changes)  # the file now holds them (what `codebook write` makes)
    assert [d.problem for d in done] == [None, None, None]
    assert again.categories == eff.categories


def test_new_ids_never_clash_and_keys_come_from_the_name() -> None:
    ids = {new_node_id("Debt bondage") for _ in range(200)}
    assert len(ids) == 200 and all(i.startswith("debt-bondage-") for i in ids)
    assert new_node_id("债务").startswith("code-")
    assert propose_key("Debt bondage", {"d"}) == "b"
    assert propose_key("Quiet", set()) == "i"  # q is the picker's
    assert propose_key("Anything", set(), category=True) == "1"
    assert propose_key("x", set("123456789"), category=True) is None


def test_retired_sub_codes_keep_the_tree_three_levels_deep(cb: Codebook) -> None:
    eff, _ = fold(cb, [ch(CODE_RETIRE, TEEN)])
    with pytest.raises(ChangeRefused, match="'Age' has sub-codes, and a sub-code cannot have its own"):
        OpenCodebook(eff).check(ch(CODE_MOVE, AGE, parent=FIN))
    merged, done = fold(eff, [ch(CODE_MERGE, AGE, into=FIN)])
    assert done[0].problem is None
    assert merged.is_retired(TEEN) and merged.parent(TEEN).id == FIN  # still named, still placed
