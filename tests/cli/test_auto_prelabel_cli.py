"""`qualtui code` and `demo` pre-label by themselves unless the config file or `--no-auto-prelabel` says no."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.samples import SAMPLE
from tui.cli import cli
from tui.ui.app import QualtuiApp


@pytest.mark.parametrize("command", ["code", "demo"])
@pytest.mark.parametrize(("config", "flags", "auto", "every"), [
    ("", [], True, 20),
    ("auto_prelabel: false\n", [], False, 20),
    ("relearn_every: 5\n", ["--no-auto-prelabel"], False, 5),
    ("auto_prelabel: true\nrelearn_every: 0\n", [], True, 0),
], ids=["default", "config-off", "flag-off", "no-relearning"])
def test_the_setting_and_the_flag_reach_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str,
                                               config: str, flags: list[str], auto: bool, every: int) -> None:
    seen: dict[str, Any] = {}

    def run(self: QualtuiApp, **kwargs: Any) -> None:
        seen.update(auto=self.auto_prelabel, every=self.config.relearn_every)

    monkeypatch.setattr(QualtuiApp, "run", run)
    db, path = tmp_path / "q.db", tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    assert CliRunner().invoke(cli, ["--db", str(db), "import", str(SAMPLE)]).exit_code == 0
    r = CliRunner(env={"QUALTUI_CONFIG": str(path)}).invoke(cli, ["--db", str(db), command, "--coder", "a", *flags])
    assert r.exit_code == 0, r.output
    assert seen == {"auto": auto, "every": every}


def test_the_flag_is_in_the_help() -> None:
    for command in ("code", "demo"):
        r = CliRunner().invoke(cli, [command, "--help"])
        words = " ".join(r.output.split())
        assert "--no-auto-prelabel" in words and "`auto_prelabel: false` in the config file" in words
