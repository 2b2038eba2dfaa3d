"""Masking graphic terms (English and Chinese) and the post header's severity label."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.core.wellbeing.masking import (
    DEFAULT_TERMS_EN,
    DEFAULT_TERMS_ZH,
    Lexicon,
    apply_mask,
    default_lexicon,
    mask,
    severity_label,
)


def words(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_default_lexicon_has_about_forty_terms_per_language() -> None:
    assert len(DEFAULT_TERMS_EN) >= 40 and len(DEFAULT_TERMS_ZH) >= 40
    for term in ("电击", "酷刑", "强奸", "割腰子", "活摘器官", "打死", "水牢"):
        assert mask(term) == [(0, len(term))], term


def test_english_terms_whole_words_any_case_with_endings() -> None:
    text = "He was TORTURED and Raped. Grapes, drapes and a scraped knee. Torturers used a Taser."
    assert words(text, mask(text)) == ["TORTURED", "Raped", "Torturers", "Taser"]


def test_multi_word_terms_allow_spaces_and_hyphens() -> None:
    text = "They spoke of organ-harvesting, of men beaten  to\ndeath, of electric shocks."
    assert words(text, mask(text)) == ["organ-harvesting", "beaten  to\ndeath", "electric shocks"]


def test_longest_match_wins() -> None:
    lex = Lexicon.of(["beaten", "beaten to death"])
    assert words("he was beaten to death", mask("he was beaten to death", lex)) == ["beaten to death"]
    lex = Lexicon.of(["器官", "活摘器官"])
    assert mask("被活摘器官了", lex) == [(1, 5)]


def test_overlapping_and_touching_matches_are_merged() -> None:
    lex = Lexicon.of(["organ harvesting", "harvesting organs"])
    text = "organ harvesting organs sold"
    assert mask(text, lex) == [(0, 23)]
    lex = Lexicon.of(["电击", "击打", "酷刑"])
    assert mask("遭电击打和酷刑", lex) == [(1, 4), (5, 7)]
    assert mask("电击酷刑", lex) == [(0, 4)]  # touching spans become one block


def test_chinese_in_running_text_and_mixed_with_english() -> None:
    text = "他在园区被电击，还被威胁割腰子。He was beaten to death 在水牢里。"
    assert words(text, mask(text)) == ["电击", "割腰子", "beaten to death", "水牢"]


def test_extra_terms_extend_the_default() -> None:
    text = "送去猪仔园区"
    assert mask(text) == []
    assert words(text, mask(text, default_lexicon(("猪仔",)))) == ["猪仔"]
    assert words(text, mask(text, ["园区"])) == ["园区"]
    assert default_lexicon().extended(["猪仔"]).terms[-1] == "猪仔"


def test_nothing_to_mask() -> None:
    assert mask("", default_lexicon()) == []
    assert mask("torture", Lexicon.of([])) == []
    assert mask("a*b", Lexicon.of(["*"])) == []


def test_terms_are_literal_not_regular_expressions() -> None:
    lex = Lexicon.of(["a.b", "(x)"])
    assert mask("axb a.b (x)", lex) == [(4, 7), (8, 11)]


def test_apply_mask_keeps_the_width_on_screen() -> None:
    text = "被电击 and raped"
    out = apply_mask(text, mask(text))
    assert out == "被████ and █████"
    assert apply_mask("beaten to death", [(0, 15)]) == "██████ ██ █████"


def test_masking_a_long_post_keeps_its_length() -> None:
    lex = default_lexicon()
    text = ("园区里的人每天工作十几个小时，完不成业绩。He was beaten to death in a compound. " * 1500)[:100_000]
    spans = mask(text, lex)
    assert len(spans) == 1500  # every repetition is found, to the end of the text
    assert spans[-1][1] > len(text) - 60


@pytest.mark.parametrize(("weight", "label"), [(1.0, None), (1.49, None), (1.5, "violence"),
                                               (1.99, "violence"), (2.0, "severe content"), (3.0, "severe content")])
def test_severity_label(weight: float, label: str | None) -> None:
    assert severity_label(weight) == label
    assert label is None or len(label.split()) <= 3


def test_core_well_being_never_imports_textual() -> None:
    code = ("import sys; import tui.core.wellbeing.policy, tui.core.wellbeing.storage, tui.core.wellbeing.masking, "
            "tui.core.wellbeing.settings; sys.exit('textual' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
