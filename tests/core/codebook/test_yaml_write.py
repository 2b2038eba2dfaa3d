"""Writing open coding's changes back into the real codebook file: comments and untouched lines kept."""

from __future__ import annotations

import dataclasses

import pytest

from tui.core.codebook.changes import Change, fold
from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.yaml_write import WriteBackRefused, fold_into_yaml, same_codebook
from tui.core.paths import bundled_codebook

TEXT = bundled_codebook().read_text(encoding="utf-8")


def ch(n: int, kind: str, code_id: str, **value: object) -> Change:
    """A change made by alice at second n."""
    return Change(kind, code_id, value, "alice", f"2025-01-01T00:00:{n:02d}.000Z", f"e{n:02d}", 1)


CHANGES = [
    ch(1, "code_create", "sold-on-3f9a2c", name="Sold on", parent="targeting", aliases=["转卖"],
       definition="Resold to another compound, often for more than the first price, after missing targets."),
    ch(2, "code_create", "unplaced-thing-aaaaaa", name="Unplaced thing", parent="", definition="Not placed yet."),
    ch(3, "code_edit", "targeting/overtrust", name="Overtrust"),
    ch(4, "code_move", "approaches/travel", parent="targeting"),
    ch(5, "code_merge", "targeting/overtrust/authority", into="targeting/overtrust/family-relation"),
    ch(6, "code_retire", "targeting/lack-of-awareness/legal", retired=True),
    ch(7, "code_create", "resold-twice-bbbbbb", name="Resold twice", parent="sold-on-3f9a2c",
       definition="Sold on more than once."),
]


@pytest.fixture(scope="module")
def written() -> tuple[str, object]:
    """The bundled codebook with every kind of change folded in, and the effective codebook."""
    base = load_codebook(bundled_codebook())
    effective, applied = fold(base, CHANGES)
    assert [a.problem for a in applied] == [None] * len(CHANGES)
    return fold_into_yaml(TEXT, base, effective), effective


def test_every_comment_of_the_file_is_kept_in_its_order(written: tuple[str, object]) -> None:
    out, _ = written
    before = [line for line in TEXT.splitlines() if line.lstrip().startswith("#")]
    after = [line for line in out.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in after if line in before] == before
    # the one comment added introduces the codes not yet placed
    assert [line for line in after if line not in before] == [
        "# Codes made while coding that axial coding has not placed under a category."]


def test_lines_the_changes_do_not_touch_are_byte_identical(written: tuple[str, object]) -> None:
    out, _ = written
    # From the third category's heading onwards nothing changed but the travel code taken out of it.
    start = TEXT.index("  # ---------------------------------------------------------------- 4")
    travel = TEXT.index("      - id: approaches/travel\n")
    assert TEXT[start:TEXT.index("\n# Relevance screen")] in out
    assert TEXT[:TEXT.index("      - id: targeting/overtrust/authority")].replace(
        '            aliases: ["legal awareness", "法律意识", "不懂法"]\n',
        '            aliases: ["legal awareness", "法律意识", "不懂法"]\n            retired: true\n').replace(
        "name: Over-reliance and overtrust", "name: Overtrust") in out
    assert TEXT[TEXT.index("  # ---------------------------------------------------------------- 3"):travel] in out
    assert TEXT[TEXT.index("\n# Relevance screen"):] in out  # screening and prelabel, byte for byte


def test_each_change_is_written_where_and_how_its_siblings_are(written: tuple[str, object]) -> None:
    out, _ = written
    assert "        name: Overtrust\n" in out and "Over-reliance and overtrust" not in out
    assert "            retired: true\n" in out
    assert "id: targeting/overtrust/authority\n" not in out
    assert '            former_ids: ["targeting/overtrust/authority"]\n' in out
    new = out.index("      - id: sold-on-3f9a2c\n")
    assert out[new:].startswith(
        "      - id: sold-on-3f9a2c\n"
        "        name: Sold on\n"
        '        key: "s"\n'
        "        definition: >-\n"
        "          Resold to another compound, often for more than the first price, after missing targets.\n"
        '        aliases: ["转卖"]\n'
        "        subcodes:\n"
        "          - id: resold-twice-bbbbbb\n"
        "            name: Resold twice\n"
        '            key: "r"\n'
        "            definition: >-\n"
        "              Sold on more than once.\n"
        "\n"
        "      - id: approaches/travel\n"
        "        name: Travel\n"
        '        key: "r"\n'
        "        definition: >-\n"
        "          The journey itself is part of the recruitment: the person is talked into a trip under a\n"
        "          false story, or the traffickers take charge of getting them to a place they control.\n"
        '        aliases: ["travel", "transport", "出境", "去东南亚"]\n'
        "        subcodes:\n"
        "          - id: approaches/travel/misled-travel\n")
    assert "\ncodes:\n  - id: unplaced-thing-aaaaaa\n" in out


def test_the_written_file_loads_as_the_effective_codebook_and_folding_again_changes_nothing(
        written: tuple[str, object]) -> None:
    out, effective = written
    reloaded = parse_codebook(out, "codebook.yaml")
    assert same_codebook(reloaded, effective) is None
    assert reloaded.resolve("targeting/overtrust/authority") == "targeting/overtrust/family-relation"
    assert reloaded.is_retired("targeting/lack-of-awareness/legal")
    assert reloaded.keys("approaches/travel") == "1r"
    again, applied = fold(reloaded, CHANGES)  # a coder whose project never recorded the write
    assert same_codebook(again, effective) is None and not any(a.problem for a in applied)


def test_a_node_retired_in_the_file_is_folded_like_one_retired_by_an_event() -> None:
    base = load_codebook(bundled_codebook())
    by_event = fold(base, [ch(1, "code_retire", "targeting/lack-of-awareness/legal", retired=True)])[0]
    in_file = parse_codebook(TEXT.replace('            aliases: ["legal awareness", "法律意识", "不懂法"]\n',
                                          '            aliases: ["legal awareness", "法律意识", "不懂法"]\n'
                                          "            retired: true\n"))
    assert same_codebook(in_file, by_event) is None
    assert in_file.by_keys("1wl") is None and in_file.node("targeting/lack-of-awareness/legal").retired
    # its key is free again, as after the event
    taken = fold(in_file, [ch(2, "code_create", "legal-2-cccccc", name="Legal", parent="targeting/lack-of-awareness",
                              key="l", definition="d")])[0]
    assert taken.keys("legal-2-cccccc") == "1wl"


def test_a_code_still_a_draft_is_refused_and_nothing_is_produced() -> None:
    base = load_codebook(bundled_codebook())
    effective = fold(base, [ch(1, "code_create", "draft-dddddd", name="Draft", parent="targeting")])[0]
    with pytest.raises(WriteBackRefused, match=r"^'Draft' has no definition yet; write one before writing the "
                                               r"codebook\.$"):
        fold_into_yaml(TEXT, base, effective)


def test_a_result_that_would_not_be_valid_is_refused() -> None:
    # The fold itself keeps the tree three levels deep: a code with a retired sub-code stays a code.
    base = load_codebook(bundled_codebook())
    _, applied = fold(base, [
        ch(1, "code_retire", "targeting/lack-of-awareness/legal", retired=True),
        ch(2, "code_merge", "targeting/lack-of-awareness/geography", into="targeting/overtrust"),
        ch(3, "code_move", "targeting/lack-of-awareness", parent="targeting/overtrust")])
    assert applied[2].problem and "a sub-code cannot have its own" in applied[2].problem
    # Whatever reaches the writer is still checked by the loader before a byte is written.
    effective, _ = fold(base, [ch(4, "code_create", "x-aaaaaa", name="X", definition="d", parent="targeting")])
    cat = effective.categories[0]
    codes = list(cat.codes)
    codes[-1] = dataclasses.replace(codes[-1], key=codes[0].key)
    bad = dataclasses.replace(effective, categories=(dataclasses.replace(cat, codes=tuple(codes)),
                                                     *effective.categories[1:]))
    with pytest.raises(WriteBackRefused, match=r"^The codebook with the changes folded in would not be valid "
                                               r"\(line \d+: .*used twice.*\); nothing was written\.$"):
        fold_into_yaml(TEXT, base, bad)


SMALL = '''version: "1"
name: t
categories:
  - id: a
    name: A
    key: "1"
    colour: "#000000"
    codes:
      - id: a/x
        name: X
        definition: d
        key: "b" # an end-of-line comment

  # the next category
  - id: b
    name: B
    key: "2"
    colour: "#000000"
    codes:
      - {id: b/y, name: Y, key: "y", definition: e}
'''


def test_an_end_of_line_comment_stays_on_its_line_and_a_new_code_follows_its_siblings_order() -> None:
    base = parse_codebook(SMALL)
    effective = fold(base, [ch(1, "code_create", "new-aaaaaa", name="New", parent="a", definition="d2"),
                            ch(2, "code_merge", "b/y", into="a/x")])[0]
    out = fold_into_yaml(SMALL, base, effective)
    assert out == SMALL.replace('''        key: "b" # an end-of-line comment
''', '''        key: "b" # an end-of-line comment
        aliases:
          - Y
        former_ids:
          - b/y
      - id: new-aaaaaa
        name: New
        definition: d2
        key: "n"
''').replace('''    codes:
      - {id: b/y, name: Y, key: "y", definition: e}
''', "")
