"""The coder's config file: bad settings stop the app with one sentence, before anything opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.samples import SAMPLE
from tui.cli import cli
from tui.core.config import ConfigError, load_config


@pytest.mark.parametrize(("text", "message"), [
    ("wellbeing:\n  short_break_minutes: 0\n", "short_break_minutes"),
    ("wellbeing:\n  strictness: lax\n", "strictness"),
    ("wellbeing:\n  daily_cap_minutes: 10\n", "daily_cap_minutes"),
    ("wellbeing:\n  dayly_cap_minutes: 100\n", "did you mean daily_cap_minutes"),
    ("keys: [u]\n", "'keys' must map"),
    ("colour: red\n", "unknown setting 'colour'"),
    ("mode: fast\n", "'mode' must be"),
    ("coder: [a\n", "not valid YAML"),
])
def test_bad_config_is_one_clear_sentence(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    db = tmp_path / "q.db"
    CliRunner().invoke(cli, ["--db", str(db), "import", str(SAMPLE)])
    r = CliRunner(env={"QUALTUI_CONFIG": str(path)}).invoke(cli, ["--db", str(db), "code", "--coder", "a"])
    assert r.exit_code == 1 and str(path) in r.output and "Traceback" not in r.output


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "none.yaml")
    assert cfg.masking and cfg.show_suggestions and cfg.coder is None
