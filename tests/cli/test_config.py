"""The coder's config file: bad settings stop the app with one sentence, before anything opens."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.samples import SAMPLE
from tui.cli import cli
from tui.core.config import Config, ConfigError, load_config
from tui.core.files import MAX_CONFIG_BYTES


@pytest.mark.parametrize(("text", "message"), [
    ("wellbeing:\n  short_break_minutes: 0\n", "short_break_minutes"),
    ("wellbeing:\n  strictness: lax\n", "strictness"),
    ("wellbeing:\n  daily_cap_minutes: 10\n", "daily_cap_minutes"),
    ("wellbeing:\n  dayly_cap_minutes: 100\n", "did you mean daily_cap_minutes"),
    ("keys: [u]\n", "'keys' must map"),
    ("colour: red\n", "unknown setting 'colour'"),
    ("mode: fast\n", "'mode' must be"),
    ("auto_prelabel: later\n", "'auto_prelabel' must be true or false"),
    ("relearn_every: -1\n", "'relearn_every' must be a whole number of decisions .0 turns it off"),
    ("relearn_every: yes\n", "'relearn_every' must be a whole number"),
    ("coder: [a\n", "not valid YAML"),
    ("coder: 2026-02-30\n", "not valid YAML .day is out of range"),  # PyYAML raises a bare ValueError
    ("[" * 2000, "not valid YAML .nested too deeply"),
    ("1: a\nnull: b\n", "unknown setting 1 "),  # keys of mixed types cannot be sorted as they are
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


# ---------------------------------------------------------------- bounded reads and key remapping


def _code(tmp_path: Path, config: Path) -> Any:
    db = tmp_path / "q.db"
    if not db.exists():
        CliRunner().invoke(cli, ["--db", str(db), "import", str(SAMPLE)])
    return CliRunner(env={"QUALTUI_CONFIG": str(config)}).invoke(cli, ["--db", str(db), "code", "--coder", "a"])


@pytest.mark.parametrize(("keys", "sentence"), [
    ("next: b\n  screen.relevant: b\n", "Key b is bound twice in {path}: next and screen.relevant."),
    ("next: q\n", "Key q is bound twice in {path}: next and quit (its default key)."),
    ("undo: \"z, ctrl+q\"\n", "Key ctrl+q is bound twice in {path}: undo and quit (built in)."),
    ("nxt: n\n", "{path}: unknown key binding 'nxt' under 'keys'; the closest binding id is 'next'."),
    ("screen.relevent: y\n", "{path}: unknown key binding 'screen.relevent' under 'keys'; the closest binding id"
                             " is 'screen.relevant'."),
    ("next: \" , \"\n", "{path}: the binding 'next' under 'keys' has no key."),
])
def test_bad_key_remapping_stops_the_app_with_one_sentence(tmp_path: Path, keys: str, sentence: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("keys:\n  " + keys, encoding="utf-8")
    result = _code(tmp_path, path)
    assert result.exit_code == 1
    assert result.output.strip() == "Error: " + sentence.format(path=path)


def test_good_key_remapping_is_written_the_way_the_app_matches_keys(tmp_path: Path) -> None:
    from tui.ui.keymap import check_keymap

    path = tmp_path / "config.yaml"
    # Swapping two keys, a key another screen also uses, and "?" as typed.
    path.write_text("keys:\n  next: \"b, right\"\n  previous: l\n  help: \"?\"\n  reconcile.next: P\n",
                    encoding="utf-8")
    cfg = load_config(path)
    check_keymap(cfg)
    assert cfg.keys == {"next": "b,right", "previous": "l", "help": "question_mark", "reconcile.next": "P"}


def test_every_screen_with_bindings_can_be_remapped() -> None:
    import importlib
    import pkgutil

    from textual.screen import Screen

    import tui.ui.screens
    from tui.ui.keymap import screens

    covered = set(screens())
    for mod in pkgutil.iter_modules(tui.ui.screens.__path__):
        module = importlib.import_module(f"tui.ui.screens.{mod.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Screen) and obj.__module__ == module.__name__
                    and obj.__dict__.get("BINDINGS")):
                assert obj in covered, f"{obj.__name__} has bindings the config check does not know"


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "too big"])
def test_config_must_be_a_small_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config.yaml"
    if kind == "fifo":
        os.mkfifo(path)
        expected = "is a named pipe; a config file must be a regular file."
    elif kind == "device":
        path = Path("/dev/zero")
        expected = "is a device; a config file must be a regular file."
    elif kind == "folder":
        path.mkdir()
        expected = "is a folder; a config file must be a regular file."
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("coder: a\n" + "#" * (MAX_CONFIG_BYTES + 10) + "\n")
        expected = "over the 1.0 MiB limit for a config file."
    outcome: list[BaseException | Config] = []

    def load() -> None:
        try:
            outcome.append(load_config(path))
        except BaseException as exc:  # noqa: B036 - handed to the test thread
            outcome.append(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # the old code blocks opening a FIFO: let it go, then fail
        with open(os.open(path, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        t.join(10)
        pytest.fail("reading the config blocked on a FIFO")
    assert isinstance(outcome[0], ConfigError), outcome
    assert str(outcome[0]).endswith(expected) and "\n" not in str(outcome[0])


VALID = """\
# my settings
coder: alice
keys:
  undo: "u,ctrl+z"
  next: b
  help: "?"
show_suggestions: false
masking: true
mode: coding
llm_url: http://127.0.0.1:8080/v1
wellbeing:
  strictness: firm
  short_break_after_minutes: 25
  short_break_minutes: 5
  daily_cap_minutes: 200
  lexicon: [blood, 血]
"""


@st.composite
def damaged_config(draw: st.DrawFn) -> bytes:
    """The valid config above, cut, with bytes flipped, inserted, deleted or a slice duplicated."""
    out = bytearray(VALID.encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "junk"]))
        at = draw(st.integers(0, len(out)))
        if kind == "truncate":
            del out[at:]
        elif kind == "flip" and at < len(out):
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del out[at:at + draw(st.integers(1, 32))]
        elif kind == "duplicate":
            end = min(len(out), at + draw(st.integers(1, 120)))
            out[at:at] = out[at:end]
        else:
            out[at:at] = draw(st.sampled_from([b"\x00", b"\xff", b"\xed\xa0\x80", b"\t", b": ", b"- ", b"[", b"{",
                                               b"&a ", b"*a", b"!!python/object ", b"\n  ", b"2026-02-30",
                                               b".nan", b"1e999", b"~", b"? ", b"'", b"\""]))
    return bytes(out)


def test_valid_fuzz_seed_loads() -> None:
    from tui.ui.keymap import check_keymap

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(VALID, encoding="utf-8")
        cfg = load_config(path)
        check_keymap(cfg)
        assert cfg.coder == "alice" and cfg.keys["help"] == "question_mark"


@settings(max_examples=int(os.environ.get("QUALTUI_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(content=damaged_config())
def test_fuzz_config_is_a_valid_config_or_one_sentence(content: bytes) -> None:
    from tui.ui.keymap import check_keymap

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_bytes(content)
        try:
            cfg = load_config(path)
            check_keymap(cfg)
        except ConfigError as exc:
            message = str(exc)
            assert message.endswith((".", "?")) and "\n" not in message, message
            return
        assert isinstance(cfg, Config) and cfg.mode in ("screening", "coding")
        assert cfg.coder is None or (isinstance(cfg.coder, str) and cfg.coder.strip())
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in cfg.keys.items())
        assert isinstance(cfg.show_suggestions, bool) and isinstance(cfg.masking, bool)
        assert isinstance(cfg.wellbeing, dict)
