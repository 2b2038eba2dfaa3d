"""Codebook lookup: ranking, typos, Unicode normalisation, Chinese queries, highlights and speed."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from tui.core.codebook.loading import load_codebook, parse_codebook
from tui.core.codebook.lookup import Hit, search
from tui.core.codebook.model import Codebook

FIXTURE = Path(__file__).parents[1] / "fixtures" / "lookup.yaml"
TARGETING_RANSOM = "targeting/financial-instability/ransom"
EXPLOITATION_RANSOM = "exploitation/financial-exploitation/ransom"


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return load_codebook(FIXTURE)


def ids(hits: list[Hit]) -> list[str]:
    return [h.node.id for h in hits]


def marked(hit: Hit) -> list[str]:
    """The highlighted parts of a hit's text."""
    return [hit.text[a:b] for a, b in hit.spans]


@pytest.mark.parametrize("query", ["ransom", "Ransom", "RANSOM", "ＲＡＮＳＯＭ", "  ransom  "])
def test_ransom_finds_both_ransom_subcodes_first(cb: Codebook, query: str) -> None:
    hits = search(cb, query)
    assert set(ids(hits)[:2]) == {TARGETING_RANSOM, EXPLOITATION_RANSOM}
    assert all(h.field == "name" and marked(h) == ["Ransom"] for h in hits[:2])


def test_chinese_alias_finds_both_ransom_subcodes(cb: Codebook) -> None:
    hits = search(cb, "赎金")
    assert set(ids(hits)[:2]) == {TARGETING_RANSOM, EXPLOITATION_RANSOM}
    assert hits[0].field == "alias" and marked(hits[0]) == ["赎金"]


def test_chinese_substring_and_bigrams(cb: Codebook) -> None:
    assert ids(search(cb, "赎"))[:2] == [TARGETING_RANSOM, EXPLOITATION_RANSOM]
    # A partial alias, the words of an alias in another order, and a phrase holding a whole alias.
    assert ids(search(cb, "冒充"))[:2] == ["approaches/impersonation", "approaches/impersonation/authority"]
    family = search(cb, "家人威胁")
    assert ids(family) == ["control/psychological-abuse/threats-family"] and marked(family[0]) == ["威胁家人"]
    assert set(ids(search(cb, "支付赎金"))[:2]) == {TARGETING_RANSOM, EXPLOITATION_RANSOM}
    assert search(cb, "火车") == []


@pytest.mark.parametrize("query", ["torure", "tortrue", "toture", "Torturr"])
def test_typos_still_find_torture(cb: Codebook, query: str) -> None:
    hits = search(cb, query)
    assert ids(hits)[0] == "control/physical-abuse/torture" and marked(hits[0]) == ["Torture"]


def test_empty_query_returns_nothing(cb: Codebook) -> None:
    assert search(cb, "") == [] and search(cb, "   \t") == [] and search(cb, "ransom", limit=0) == []


def test_limit_and_order_are_stable(cb: Codebook) -> None:
    assert len(search(cb, "e", limit=3)) == 3
    assert search(cb, "debt") == search(cb, "debt")


def test_words_in_any_order(cb: Codebook) -> None:
    hits = search(cb, "abuse physical")
    assert ids(hits)[0] == "control/physical-abuse" and marked(hits[0]) == ["Physical", "abuse"]
    assert ids(search(cb, "physical abuse"))[0] == "control/physical-abuse"


def test_id_and_subsequence(cb: Codebook) -> None:
    assert ids(search(cb, "control/physical-abuse/torture"))[0] == "control/physical-abuse/torture"
    assert search(cb, "physical-abuse/torture")[0].field == "id"
    hits = search(cb, "phyab")
    assert ids(hits)[0] == "control/physical-abuse" and "".join(marked(hits[0])) == "Phyab"


def test_unicode_normalisation_keeps_highlights_on_the_written_text(cb: Codebook) -> None:
    for query in ("café", "CAFÉ", "cafe\u0301"):
        hits = search(cb, query)
        assert ids(hits)[0] == "exploitation/cafe-work"
        assert marked(hits[0]) == ["Cafe\u0301"]  # the name is stored decomposed; the span covers the accent


RANKING = """\
version: "1"
name: Ranking
categories:
  - id: c
    name: Things
    key: "1"
    colour: "#000000"
    codes:
      - {id: c/fuzzy, name: Sheild, key: g, definition: Nothing here.}
      - {id: c/definition, name: Cover, key: f, definition: Uses a shield to block.}
      - {id: c/shield, name: Protection, key: e, definition: Nothing here.}
      - {id: c/alias-word, name: Police line, key: d, definition: Nothing here., aliases: [riot shield]}
      - {id: c/prefix, name: Shield wall, key: c, definition: Nothing here.}
      - {id: c/alias, name: Guard, key: b, definition: Nothing here., aliases: [shield]}
      - {id: c/exact, name: Shield, key: a, definition: Nothing here.}
"""


def test_ranking_exact_then_prefix_then_alias_then_id_then_definition_then_fuzzy() -> None:
    hits = search(parse_codebook(RANKING), "shield")
    assert ids(hits) == ["c/exact", "c/alias", "c/prefix", "c/alias-word", "c/shield", "c/definition", "c/fuzzy"]
    assert [h.field for h in hits] == ["name", "alias", "name", "alias", "id", "definition", "name"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_each_codebook_gets_its_own_index(cb: Codebook) -> None:
    other = parse_codebook(RANKING)
    assert search(other, "ransom") == [] and ids(search(cb, "ransom"))[0] == TARGETING_RANSOM
    assert search(other, "shield")[0].node is other.node("c/exact")


def _study_sized() -> Codebook:
    """A codebook with the study's shape: 9 categories, 52 codes, 91 sub-codes (143 nodes)."""
    words = ("abuse threat money debt ransom travel family police rescue escape scam job offer border passport "
             "phone fraud romance gamble invest visa broker camp guard torture food sleep shame fear drug").split()

    def text(seed: int, n: int) -> str:
        return " ".join(words[(seed + i) % len(words)] for i in range(n))

    shape = [(11, 27), (5, 0), (6, 17), (7, 17), (6, 6), (4, 10), (3, 6), (6, 8), (4, 0)]
    lines = ['version: "1"', "name: Study-sized", "categories:"]
    for c, (n_codes, n_subs) in enumerate(shape):
        lines.append(f"  - {{id: c{c}, name: Category {words[c]}, key: '{c + 1}', colour: '#123456', codes: [")
        for k in range(n_codes):
            subs = [f"{{id: c{c}/k{k}/s{j}, name: {text(c + k + j, 2)}, key: {string.ascii_letters[j]}, "
                    f"definition: {text(c * k + j, 40)}, aliases: [赎金{j}]}}"
                    for j in range(n_subs // n_codes + (k < n_subs % n_codes))]
            lines.append(f"    {{id: c{c}/k{k}, name: {text(c * 7 + k, 2)}, key: {string.ascii_letters[k]}, "
                         f"definition: {text(c + k, 30)}, subcodes: [{', '.join(subs)}]}},")
        lines.append("  ]}")
    return parse_codebook("\n".join(lines) + "\n")


def test_every_query_answers_on_a_study_sized_codebook() -> None:
    # Speed is measured in bench/bench_lookup.py, not asserted here: timings vary with the machine's load.
    big = _study_sized()
    assert big.counts() == (9, 52, 91)
    for query in ["ransom", "赎金", "torure", "money debt", "a", "fr", "passprot", "abuse threat family", "c3/k2",
                  "zzzz", "缅甸园区", "polic", "s", "gamble invest", "scm"]:
        hits = search(big, query)
        assert len(hits) <= 20
        assert all(h.node is not None for h in hits)
