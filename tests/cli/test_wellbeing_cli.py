"""`qualtui wellbeing` and `qualtui wellbeing ceilings` through the command line."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.cli import cli
from tui.core.project.store import Store
from tui.core.wellbeing import storage as ws
from tui.core.wellbeing.policy import day_of


def run(db: Path, config: Path, *args: str, input: str | None = None) -> object:  # noqa: A002 (click's name)
    env = {"COLUMNS": "200", "QUALTUI_CONFIG": str(config)}
    return CliRunner(env=env).invoke(cli, ["--db", str(db), *args], input=input)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file naming the coder alice."""
    path = tmp_path / "config.yaml"
    path.write_text("coder: alice\n", encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A project where alice and bob logged exposure today and alice three days ago."""
    path = tmp_path / "p.db"
    store = Store(path)
    today = day_of(time.time(), 4)
    earlier = (date.fromisoformat(today) - timedelta(days=3)).isoformat()
    rows = [("alice", "exposure", today, 30, 60, 2.0), ("alice", "exposure", today, 20, 20, 1.0),
            ("alice", "break", today, 0, 0, None), ("alice", "postpone", today, 0, 0, None),
            ("alice", "checkin", today, 0, 0, 2), ("alice", "checkin", today, 0, 0, 7),
            ("alice", "exposure", earlier, 12, 18, 1.5), ("bob", "exposure", today, 5, 5, 1.0)]
    with store.db.conn:
        store.db.conn.executemany(
            "INSERT INTO wb_log (coder, kind, at, day, minutes, weighted, value, detail)"
            " VALUES (?, ?, '2025-01-01T00:00:00.000Z', ?, ?, ?, ?, '{}')", rows)
    store.close()
    return path


def count(db: Path, coder: str) -> int:
    store = Store(db)
    n = store.db.conn.execute("SELECT count(*) FROM wb_log WHERE coder = ?", (coder,)).fetchone()[0]
    store.close()
    return n


def ceilings(db: Path) -> dict[str, object]:
    store = Store(db)
    out = ws.team_ceilings(store)
    store.close()
    return out


def test_history_of_the_coder_from_the_config(db: Path, config: Path) -> None:
    result = run(db, config, "wellbeing")
    assert result.exit_code == 0, result.output
    out = result.output
    today = day_of(time.time(), 4)
    assert "Well-being of alice, last 14 days" in out
    line = next(li for li in out.splitlines() if today in li and "│" in li)
    assert [c.strip() for c in line.strip("│ ").split("│")] == [today, "80", "50", "30", "1", "1", "2, 7"]
    assert "never exported or merged" in out
    bars = [li for li in out.splitlines() if li.startswith(today[5:] + " ")]
    assert len(bars) == 1 and bars[0].count("█") == 30 and bars[0].endswith(" 80")
    assert "Today: 80 of 240 weighted minutes; 30 of 120 minutes on severe posts." in out
    assert len([li for li in out.splitlines() if "│" in li and li.count("│") == 8]) == 14


def test_days_and_another_coder(db: Path, config: Path) -> None:
    result = run(db, config, "wellbeing", "--coder", "bob", "--days", "2")
    assert result.exit_code == 0, result.output
    assert "Well-being of bob, last 2 days" in result.output and "Today: 5.0 of 240" in result.output


def test_no_coder_is_one_sentence(db: Path, tmp_path: Path) -> None:
    result = run(db, tmp_path / "none.yaml", "wellbeing")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: Whose history? Pass --coder NAME (or set `coder:` in the config file)."


def test_hostile_coder_name_prints_literally(db: Path, config: Path) -> None:
    for name in ("[@click=app.quit]x", "[B]", "[$accent]x", "\x1b[31mred\x1b[0m"):
        result = run(db, config, "wellbeing", "--coder", name)
        assert result.exit_code == 0, result.output
        shown = name.replace("\x1b[31m", "").replace("\x1b[0m", "")
        assert f"Well-being of {shown}, last 14 days" in result.output and "\x1b" not in result.output


def test_delete_asks_and_a_no_keeps_everything(db: Path, config: Path) -> None:
    result = run(db, config, "wellbeing", "--delete", input="n\n")
    assert result.exit_code == 1 and "Nothing was deleted." in result.output
    assert count(db, "alice") == 7
    result = run(db, config, "wellbeing", "--delete", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Deleted 7 well-being records of alice." in result.output
    assert count(db, "alice") == 0 and count(db, "bob") == 1


def test_delete_with_yes_does_not_ask(db: Path, config: Path) -> None:
    result = run(db, config, "wellbeing", "--coder", "bob", "--delete", "--yes")
    assert result.exit_code == 0, result.output
    assert "[y/N]" not in result.output and count(db, "bob") == 0 and count(db, "alice") == 7


def test_ceilings_show_set_and_clear(db: Path, config: Path) -> None:
    result = run(db, config, "wellbeing", "ceilings")
    assert result.exit_code == 0 and "No team ceilings are set" in result.output
    result = run(db, config, "wellbeing", "ceilings", "--set", "daily_cap_minutes=200",
                 "--set", "strictness=strict", "--set", "masking=true", "--set", "lexicon=[猪仔, \"water cell*\"]")
    assert result.exit_code == 0, result.output
    assert ceilings(db) == {"daily_cap_minutes": 200.0, "strictness": "strict", "masking": True,
                            "lexicon": ["猪仔", "water cell*"]}
    assert "Updated 4 ceilings." in result.output and "daily_cap_minutes │ 200" in result.output
    result = run(db, config, "wellbeing", "ceilings", "--clear", "masking", "--yes")
    assert result.exit_code == 0, result.output
    assert "[y/N]" not in result.output and "takes effect from the next working day" in result.output
    assert "masking" not in ceilings(db)
    # The coder's history now shows the team's cap.
    assert "Today: 80 of 200 weighted minutes" in run(db, config, "wellbeing").output


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "daily_cap_minutes=-5"], "The team's setting daily_cap_minutes must be more than 0, not -5."),
    (["--set", "dayly_cap_minutes=100"], "Unknown well-being setting 'dayly_cap_minutes'; did you mean "
                                         "daily_cap_minutes?"),
    (["--set", "strictness=hard"], "The team's setting strictness 'hard' is not one of gentle, firm, strict."),
    (["--set", "masking=perhaps"], "The team's setting masking must be true or false, not the text 'perhaps'."),
    (["--set", "daily_cap_minutes=10"], "daily_cap_minutes (10) is shorter than short_break_after_minutes (25); "
                                        "the cap must be at least one working interval."),
    (["--set", "daily_cap_minutes"], "--set takes FIELD=VALUE, such as daily_cap_minutes=200, not "
                                     "'daily_cap_minutes'."),
    (["--set", "daily_cap_minutes="], "--set daily_cap_minutes= needs a value; use --clear daily_cap_minutes "
                                      "to remove a ceiling."),
    (["--set", "lexicon=[a, b"], "The value for lexicon is not a value qualtui can read: '[a, b'."),
    (["--clear", "maskign"], "Unknown well-being setting 'maskign'; did you mean masking?"),
    (["--set", "masking=true", "--clear", "masking"], "masking is both set and cleared; choose one."),
    # One good value and one bad: nothing at all is written.
    (["--set", "stop_rating=5", "--set", "rotation_after=0"],
     "The team's setting rotation_after must be a whole number, 1 or more, not 0."),
])
def test_bad_ceilings_write_nothing(db: Path, config: Path, args: list[str], message: str) -> None:
    assert run(db, config, "wellbeing", "ceilings", "--set", "daily_cap_minutes=200").exit_code == 0
    result = run(db, config, "wellbeing", "ceilings", *args)
    assert result.exit_code == 1
    assert result.output.strip() == "Error: " + message
    assert "Traceback" not in result.output
    assert ceilings(db) == {"daily_cap_minutes": 200.0}


def test_every_command_has_help(db: Path, config: Path) -> None:
    for args in (["wellbeing", "--help"], ["wellbeing", "ceilings", "--help"]):
        result = run(db, config, *args)
        assert result.exit_code == 0 and "Usage:" in result.output


def test_clearing_a_ceiling_says_when_it_applies_and_asks_first(db: Path, config: Path) -> None:
    assert run(db, config, "wellbeing", "ceilings", "--set", "daily_cap_minutes=200").exit_code == 0
    result = run(db, config, "wellbeing", "ceilings", "--clear", "daily_cap_minutes", input="n\n")
    assert result.exit_code == 1
    assert "takes effect from the next working day" in result.output and "[y/N]" in result.output
    assert result.output.strip().endswith("Error: Nothing was changed.")
    assert ceilings(db) == {"daily_cap_minutes": 200.0}
    result = run(db, config, "wellbeing", "ceilings", "--clear", "daily_cap_minutes", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Updated 1 ceiling." in result.output and ceilings(db) == {}


def test_a_bad_ceiling_typed_into_the_project_can_be_cleared(db: Path, config: Path) -> None:
    store = Store(db)
    with store.db.conn:
        store.db.conn.execute("INSERT INTO project_settings (key, value) VALUES ('wellbeing.daily_cap_minutes', '5')")
    store.close()
    result = run(db, config, "wellbeing", "ceilings", "--clear", "daily_cap_minutes", "--yes")
    assert result.exit_code == 0, result.output
    assert "daily_cap_minutes" not in ceilings(db)


def test_history_shows_the_limits_frozen_for_today(db: Path, config: Path) -> None:
    """After a limit is reached, the history gives today's frozen cap, not a cap raised since."""
    from tui.core.wellbeing.policy import Wellbeing

    store = Store(db)
    wb = Wellbeing()
    wb.s.day = day_of(time.time(), 4)
    wb.s.day_limits = {"daily_cap_minutes": 60.0, "daily_severe_cap_minutes": 30.0, "strictness": "firm"}
    ws.save(store, "alice", wb)
    store.close()
    config.write_text("coder: alice\nwellbeing:\n  daily_cap_minutes: 400\n", encoding="utf-8")
    out = run(db, config, "wellbeing").output
    assert "Today: 80 of 60 weighted minutes; 30 of 30 minutes on severe posts." in out, out
