"""Codebook loading, validation messages with line numbers, helpers and the content hash."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml

from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.model import (
    Category,
    Code,
    CodebookError,
    codebook_hash,
    render_template,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
SMALL = FIXTURES / "small.yaml"
ROOT = Path(__file__).parents[3]

# A minimal valid codebook; the cases below change one line of it (numbers on the right).
VALID = """\
version: "1.0"
name: Test
categories:
  - id: targeting
    name: Recruitment — Targeting
    key: "1"
    colour: "#aa0000"
    codes:
      - id: targeting/financial-instability
        name: Financial instability
        key: f
        definition: Money trouble.
        subcodes:
          - id: targeting/financial-instability/ransom
            name: Ransom
            key: r
            definition: Ransom is demanded.
      - id: targeting/age
        name: Age
        key: a
        definition: Age matters.
screening:
  labels:
    "0": {name: irrelevant}
    "1": {name: relevant}
  threshold: 0.5
  prompt: "Post: {post}"
prelabel:
  code_prompt: "{post} {code} {definition}"
"""  # lines: 4 category, 9 code, 14 sub-code, 18 code, 22 screening, 28 prelabel


def edit(line: int, new: str | None) -> str:
    """VALID with one line replaced (None deletes it; new may hold several lines)."""
    lines = VALID.splitlines()
    lines[line - 1: line] = [] if new is None else new.splitlines()
    return "\n".join(lines) + "\n"


def problems(text: str) -> list[tuple[int | None, str]]:
    """The (line, message) pairs parse_codebook reports for text; fails if it loads."""
    with pytest.raises(CodebookError) as caught:
        parse_codebook(text, "codebook.yaml")
    return [(p.line, p.message) for p in caught.value.problems]


def assert_problem(text: str, line: int | None, fragment: str) -> None:
    """Exactly this line carries a problem whose message contains fragment."""
    found = problems(text)
    assert any(ln == line and fragment in msg for ln, msg in found), found


def test_valid_template_loads() -> None:
    assert parse_codebook(VALID).counts() == (1, 2, 1)


def test_screening_target_fnr_is_read() -> None:
    cb = parse_codebook(edit(26, "  threshold: 0.5\n  target_fnr: 0.05"))
    assert cb.screening is not None and cb.screening.target_fnr == 0.05


CASES = [
    # (text, line, expected words)
    ("", None, "the file is empty"),
    ("# only a comment\n\n", None, "the file is empty"),
    (edit(12, "        definition: a: b"), 12, "the YAML cannot be read: mapping values are not allowed"),
    (edit(12, "\tdefinition: x"), 12, "YAML indents with spaces, not tabs"),
    ("- a\n- b\n", 1, "the codebook should be a mapping of fields (version, name), not a list"),
    ("just words\n", 1, "should be a mapping"),
    (edit(1, None), 1, "the codebook has no version"),
    (edit(19, None), 18, "the code on line 18 has no name"),
    (edit(7, None), 4, "the category on line 4 has no colour"),
    (edit(17, None), 14, "the sub-code on line 14 has no definition"),
    (edit(12, "        definition:"), 12, "the code on line 9 has no definition (the field is empty)"),
    (edit(12, "        defintion: Money."), 12,
     "unknown field 'defintion' in the code on line 9; did you mean 'definition'?"),
    (edit(2, "nmae: Test"), 2, "unknown field 'nmae' in the codebook; did you mean 'name'?"),
    (edit(2, "name: Test\nzzz: 1"), 3, "unknown field 'zzz' in the codebook (known fields: version, name"),
    (edit(1, "version: 1.0"), 1, "the codebook's version should be text, not a number (1.0); put it in quotes"),
    (edit(6, "    key: 1"), 6, "the key of the category on line 4 is a number (1); put it in quotes"),
    (edit(10, "        name: [a, b]"), 10, "the name of the code on line 9 should be text, not a list"),
    (edit(21, "        definition: {a: b}"), 21, "the definition of the code on line 18 should be text, not a mapping"),
    (edit(12, "        definition: x\n        aliases: ransom"), 13,
     "the aliases of the code on line 9 should be a list"),
    (edit(12, "        definition: x\n        aliases: [1]"), 13, "an alias of the code on line 9 should be text"),
    (edit(12, "        definition: x\n        severity: high"), 13,
     "the severity of the code on line 9 should be a number from 1.0 to 3.0, not high"),
    (edit(12, "        definition: x\n        severity: 3.5"), 13, "should be a number from 1.0 to 3.0, not 3.5"),
    (edit(7, '    colour: "#aa0000"\n    severity: 0'), 8, "the severity of the category on line 4"),
    (edit(16, "            key: ab"), 16, "the key 'ab' of the sub-code on line 14 is 2 characters long; a key is one"),
    (edit(16, '            key: ""'), 16, "the key of the sub-code on line 14 is empty"),
    (edit(16, '            key: " "'), 16, "the key ' ' of the sub-code on line 14 is a space or control character"),
    (edit(16, '            key: "\\t"'), 16, "is a space or control character"),
    (edit(16, "            key: ctrl+a"), 16, "is 6 characters long (modifier keys are not supported)"),
    (edit(20, "        key: f"), 20,
     "the key 'f' is used twice among the codes of 'Recruitment — Targeting' (also on line 11)"),
    (edit(17, "            definition: x\n          - {id: targeting/financial-instability/x, name: X, key: r, "
              "definition: y}"), 18,
     "the key 'r' is used twice among the sub-codes of 'Financial instability' (also on line 16)"),
    (VALID.replace("screening:", "  - {id: other, name: O, key: '1', colour: '#000000', codes: "
                   "[{id: other/a, name: A, key: a, definition: d}]}\nscreening:"), 22,
     "the key '1' is used twice among the categories (also on line 6)"),
    (edit(18, "      - id: targeting/financial-instability"), 18,
     "the id 'targeting/financial-instability' is used twice (also on line 9)"),
    (edit(18, "      - id: targeting"), 18, "the id 'targeting' is used twice (also on line 4)"),
    (edit(21, "        definition: x\n        former_ids: [targeting/financial-instability/ransom]"), 22,
     "the former id 'targeting/financial-instability/ransom' of the code on line 18 is already used on line 14"),
    (edit(17, "            definition: x\n            former_ids: [old/a]").replace("id: targeting/age", "id: old/a"),
     19, "the id 'old/a' of the code on line 19 is already a former id on line 18"),
    (edit(21, "        definition: x\n        former_ids: [old/a, old/a]"), 22,
     "the former id 'old/a' of the code on line 18 is already used on line 22"),
    (edit(4, "  - id: Targeting"), 4, "the id 'Targeting' of the category on line 4 should be a lowercase slug like"),
    (edit(4, "  - id: a/b"), 4, "should be a lowercase slug like 'control'"),
    (edit(9, "      - id: targeting/Financial instability"), 9,
     "should be a lowercase slug path like 'control/physical-abuse'"),
    (edit(9, "      - id: targeting//x"), 9, "should be a lowercase slug path"),
    (edit(7, "    colour: red"), 7,
     "the colour of the category on line 4 should be written #rrggbb (like '#c0392b'), not 'red'"),
    (edit(7, '    colour: "#abc"'), 7, "should be written #rrggbb"),
    (edit(12, "        definition: " + "x" * 5001), 12, "this text is 5,001 characters long; the limit is 5,000"),
    (edit(17, "            definition: x\n            subcodes: []"), 18,
     "the sub-code on line 14 has subcodes, but sub-codes cannot have their own: the tree is three levels deep"),
    (VALID.replace("screening:", "  - {id: unplaced, name: O, key: '2', colour: '#000000'}\nscreening:"), 22,
     "the id 'unplaced' is reserved for codes not yet placed under a category"),
    (VALID.replace("screening:", "  - {id: other, name: O, key: '0', colour: '#000000'}\nscreening:"), 22,
     "the key '0' of 'O' is reserved for the codes not yet placed under a category; use 1-9 or a letter"),
    (edit(27, '  prompt: "Classify this."'), 27, "the screening prompt has no {post} placeholder"),
    (edit(27, '  prompt: "{post} {text}"'), 27,
     "the screening prompt uses the unknown placeholder {text}; it may use {post}, {examples}, {label0}, {label1}"),
    (edit(27, "  prompt: |\n    Label it.\n    {post}\n    {oops}"), 30, "unknown placeholder {oops}"),
    (edit(29, '  code_prompt: "{post} {definition}"'), 29, "the prelabel code_prompt has no {code} placeholder"),
    (edit(29, '  code_prompt: "{post} {code}"'), 29, "the prelabel code_prompt has no {definition} placeholder"),
    (edit(29, '  code_prompt: "{code} {definition}"'), 29, "has no {post} placeholder"),
    (edit(25, '    "2": {name: relevant}'), 23, 'the screening labels should be exactly "0" and "1", not "0", "2"'),
    (edit(25, None), 23, 'should be exactly "0" and "1", not "0"'),
    (edit(24, "    yes: {name: irrelevant}"), 23, 'should be exactly "0" and "1"'),
    (edit(26, "  threshold: 1.5"), 26, "the screening threshold should be a number from 0.0 to 1.0, not 1.5"),
    (edit(26, "  threshold: -0.1"), 26, "the screening threshold should be a number from 0.0 to 1.0"),
    (edit(26, "  threshold: .nan"), 26, "the screening threshold should be a number"),
    (edit(26, "  threshold: 0.5\n  target_fnr: 0.7"), 27,
     "the screening target_fnr (false-negative rate) should be a number from 0.0 to 0.5, not 0.7"),
    (edit(26, "  threshold: 0.5\n  target_fnr: ten percent"), 27, "the screening target_fnr (false-negative rate)"),
    (edit(27, '  prompt: "{post}"\n  examples:\n    - {text: hi, label: 2}'), 29,
     "the label of the screening example on line 29 should be 0 or 1, not a number (2)"),
    (edit(10, "        name: Financial instability\n        name: Again"), 11,
     "the field 'name' appears twice in one mapping (also on line 10)"),
    (edit(10, "        name: !!python/object:os.system x"), 10,
     "the YAML tag '!!python/object:os.system' is not allowed"),
    (edit(10, "        name: a\x07b"), 10, "the control character U+0007, which YAML does not allow"),
    (VALID + "---\nname: again\n", 30, "expected a single document in the stream, but found another document"),
    ("a: *nope\n", 1, "the YAML cannot be read: found undefined alias"),
]


@pytest.mark.parametrize("text,line,fragment", CASES, ids=[case[2][:50] for case in CASES])
def test_each_problem_has_its_line_and_a_plain_sentence(text: str, line: int | None, fragment: str) -> None:
    assert_problem(text, line, fragment)


def test_all_problems_are_reported_in_line_order() -> None:
    text = edit(6, "    key: 1")
    text = text.replace("colour: \"#aa0000\"", "colour: red").replace("key: a\n", "key: f\n")
    text = text.replace("threshold: 0.5", "threshold: 2")
    found = problems(text)
    assert [ln for ln, _ in found] == [6, 7, 20, 26]


def test_error_text_is_file_line_message() -> None:
    with pytest.raises(CodebookError) as caught:
        parse_codebook(edit(20, "        key: f"), "codebook.yaml")
    assert str(caught.value) == ("codebook.yaml:20: the key 'f' is used twice among the codes of "
                                 "'Recruitment — Targeting' (also on line 11)")


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=False))


def test_billion_laughs_is_refused_without_expanding() -> None:
    # Memory, not time, shows it was never expanded (9^9 nodes would not fit); time varies with the machine.
    tracemalloc.start()
    try:
        # b..d add 90 + 819 + 7,380 nodes; the first *d on line 5 crosses 10,000.
        assert_problem(BOMB, 5, "the YAML aliases here expand to more than 10,000 nodes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


@pytest.mark.parametrize("text,line", [("a: &a [1, *a]\n", 1), ("version: '1'\nx: &x\n  y: 1\n  z: *x\n", 2)])
def test_recursive_alias_is_refused(text: str, line: int) -> None:
    assert_problem(text, line, "recursive alias")


def test_small_aliases_and_merge_keys_are_fine() -> None:
    text = VALID.replace('colour: "#aa0000"', 'colour: &red "#aa0000"').replace(
        "      - id: targeting/age\n        name: Age\n        key: a\n        definition: Age matters.",
        "      - &age {id: targeting/age, name: Age, key: a, definition: Age matters.}\n"
        "      - {<<: *age, id: targeting/gender, name: Gender, key: g}")
    cb = parse_codebook(text)
    assert cb.node("targeting/gender").definition == "Age matters."  # type: ignore[union-attr]
    assert cb.counts() == (1, 3, 1)


def test_file_over_two_megabytes_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"version: [" + b"x" * (2 * 1024 * 1024))
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    limit = "a codebook may be at most 2 MB (2,097,152 bytes)"
    assert str(caught.value) == f"{path}: the file is 2,097,162 bytes; {limit}"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="cannot read the file: No such file"):
        load_codebook(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b'version: "1"\nname: caf\xe9\n')
    with pytest.raises(CodebookError) as caught:
        load_codebook(bad)
    assert caught.value.problems[0].line == 2 and "not UTF-8" in str(caught.value)


def test_small_fixture_loads() -> None:
    cb = load_codebook(SMALL)
    assert (cb.version, cb.name, cb.source) == ("0.3", "Small test codebook", str(SMALL))
    assert cb.counts() == (2, 4, 5)
    assert [c.id for c in cb.categories] == ["targeting", "exploitation"]
    ransom = cb.node("targeting/financial-instability/ransom")
    assert isinstance(ransom, Code)
    assert (ransom.level, ransom.parent_id, ransom.category_id) == (3, "targeting/financial-instability", "targeting")
    assert ransom.aliases == ("赎金", "勒索") and ransom.definition.endswith("recruited again.")
    code = cb.node("targeting/financial-instability")
    assert isinstance(code, Code) and (code.level, code.parent_id) == (2, "targeting")
    assert isinstance(cb.node("targeting"), Category) and cb.categories[0].colour == "#c0392b"
    assert cb.screening is not None and cb.screening.threshold == 0.5
    assert cb.screening.target_fnr == 0.088  # the study's screen, when the file does not say
    assert {k: v.name for k, v in cb.screening.labels.items()} == {"0": "irrelevant", "1": "relevant"}
    assert [e.label for e in cb.screening.examples] == [1, 0]
    assert cb.prelabel is not None and "{definition}" in cb.prelabel.code_prompt
    with pytest.raises(dataclasses.FrozenInstanceError):
        cb.name = "x"  # type: ignore[misc]
    assert len({cb, load_codebook(SMALL)}) == 1


def test_severity_inherits_own_then_parent_then_category_then_one() -> None:
    cb = load_codebook(SMALL)
    expected = {
        "targeting": 1.0, "targeting/financial-instability": 1.5, "targeting/financial-instability/debt": 1.5,
        "targeting/financial-instability/ransom": 2.5, "targeting/age": 1.0, "targeting/age/teenagers": 1.0,
        "exploitation": 2.0, "exploitation/financial-exploitation": 2.0,
        "exploitation/financial-exploitation/debt-bondage": 2.0, "exploitation/financial-exploitation/ransom": 3.0,
        "exploitation/organ-harvesting": 3.0,
    }
    assert {n.id: cb.severity(n.id) for n in cb.nodes()} == expected


def test_tree_helpers() -> None:
    cb = load_codebook(SMALL)
    assert [c.id for c in cb.codes()][:4] == [
        "targeting/financial-instability", "targeting/financial-instability/debt",
        "targeting/financial-instability/ransom", "targeting/age"]
    assert len(list(cb.codes())) == 9 and len(list(cb.nodes())) == 11
    rid = "targeting/financial-instability/ransom"
    assert cb.path(rid) == ["Recruitment — Targeting", "Financial instability", "Ransom"]
    assert cb.path_str(rid) == "Recruitment — Targeting › Financial instability › Ransom"
    assert cb.keys(rid) == "1fr" and cb.keys("exploitation/financial-exploitation/ransom") == "5fr"
    assert cb.children(None) == cb.categories
    assert [c.id for c in cb.children("targeting")] == ["targeting/financial-instability", "targeting/age"]
    assert cb.children(rid) == () and cb.parent(rid).id == "targeting/financial-instability"  # type: ignore[union-attr]
    for bad in ("", "9", "1x", "1fx", "1frr"):
        assert cb.by_keys(bad) is None
    with pytest.raises(KeyError):
        cb.path("nope")


def test_keys_and_by_keys_round_trip() -> None:
    cb = load_codebook(SMALL)
    for node in cb.nodes():
        assert cb.by_keys(cb.keys(node.id)) is node
        assert len(cb.keys(node.id)) == node.level


def test_former_ids_resolve_to_the_current_node() -> None:
    cb = load_codebook(SMALL)
    assert cb.resolve("targeting/money-problems") == "targeting/financial-instability"
    assert cb.node("targeting/money-problems") is cb.node("targeting/financial-instability")
    assert cb.resolve("exploitation/bonded-labour") == "exploitation/financial-exploitation/debt-bondage"
    assert cb.resolve("targeting/age") == "targeting/age"
    assert cb.resolve("nope") is None and cb.node("nope") is None
    assert cb.path_str("targeting/money-problems") == "Recruitment — Targeting › Financial instability"


def _reorder(data: object) -> object:
    if isinstance(data, dict):
        return {k: _reorder(data[k]) for k in reversed(list(data))}
    return [_reorder(v) for v in data] if isinstance(data, list) else data


def test_hash_ignores_comments_formatting_quoting_and_key_order() -> None:
    text = SMALL.read_text(encoding="utf-8")
    base = parse_codebook(text).hash
    data = yaml.safe_load(text)
    commented = re.sub(r"(?m)^(\s*(- )?name: .*)$", r"\1   # a comment", text).replace(
        "\nscreening:", "\n\n# Screening\n\nscreening:  # relevance")
    flow = yaml.safe_dump(data, default_flow_style=True, allow_unicode=True, width=60)
    reordered = yaml.safe_dump(_reorder(data), sort_keys=False, allow_unicode=False, default_style='"')
    assert len(base) == 16 and int(base, 16) >= 0
    assert base == codebook_hash(data)
    for variant in (commented, flow, reordered):
        assert variant != text and parse_codebook(variant).hash == base


def test_hash_changes_when_content_or_list_order_changes() -> None:
    text = SMALL.read_text(encoding="utf-8")
    base = parse_codebook(text).hash
    changed_definition = text.replace("A made-up debt keeps", "An invented debt keeps")
    changed_alias = text.replace("[赎金, 赎人]", "[赎金]")
    data = yaml.safe_load(text)
    data["categories"].reverse()
    for variant in (changed_definition, changed_alias, yaml.safe_dump(data, allow_unicode=True)):
        assert parse_codebook(variant).hash != base
    assert codebook_hash({0: "a"}) == codebook_hash({"0": "a"})


def test_render_template_fills_in_one_pass_and_leaves_other_braces() -> None:
    out = render_template('{post} / {code} / {"label": 1} / {missing}', {"post": "{code}", "code": "Ransom"})
    assert out == '{code} / Ransom / {"label": 1} / {missing}'


def test_core_imports_only_stdlib_and_yaml() -> None:
    code = (
        "import sys\n"
        "import tui.core.codebook.loading, tui.core.codebook.lookup\n"
        "allowed = set(sys.stdlib_module_names) | {'yaml', '_yaml', 'tui', 'cython_runtime'}\n"
        "import json\n"
        "print(json.dumps([sorted({m.split('.')[0] for m in sys.modules} - allowed),\n"
        "                  sorted(m for m in sys.modules if m.startswith('tui'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    foreign, ours = json.loads(out.stdout)
    assert "textual" not in foreign and "rich" not in foreign
    # cython_runtime comes with libyaml's C loader; _-prefixed ones (e.g. _distutils_hack) with the interpreter.
    assert [m for m in foreign if not m.startswith("_")] == []
    assert sorted(ours) == ["tui", "tui.core", "tui.core.codebook", "tui.core.codebook.loading",
                            "tui.core.codebook.lookup", "tui.core.codebook.model", "tui.core.codebook.validate",
                            "tui.core.files", "tui.core.safe"]


def test_shipped_codebook_loads_with_study_counts_and_three_key_reach() -> None:
    cb = load_codebook(ROOT / "codebook.yaml")
    assert cb.counts() == (9, 52, 91)
    for node in cb.nodes():
        keys = cb.keys(node.id)
        assert len(keys) <= 3 and cb.by_keys(keys) is node
