"""`qualtui wellbeing`: a coder's own history (and deleting it), and the team lead's ceilings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tui.cli.common import Project, console, fail, text

if TYPE_CHECKING:
    from tui.core.project.store import Store
    from tui.core.wellbeing.settings import WellbeingSettings
    from tui.core.wellbeing.storage import DaySummary

PRIVACY = ("This is your own data: it is never exported or merged unless you export it with "
           "--with-wellbeing, and team ceilings give nobody a view of it.")
BLOCKS = " ▏▎▍▌▋▊▉█"


def _config_wellbeing() -> tuple[str | None, dict[str, Any]]:
    """The default coder name and the coder's `wellbeing:` settings from the config file."""
    from tui.core.config import ConfigError, load_config
    from tui.core.paths import config_file

    try:
        cfg = load_config(config_file())
    except ConfigError as exc:
        fail(str(exc))
    return cfg.coder, cfg.wellbeing


def _settings(store: Store, mine: dict[str, Any]) -> WellbeingSettings:
    """The coder's effective settings; a broken setting of theirs must not hide their own history."""
    from tui.core.wellbeing.settings import SettingsError, WellbeingSettings
    from tui.core.wellbeing.storage import settings_for

    for attempt in (mine, None):
        try:
            return settings_for(store, attempt)[0]
        except SettingsError:
            continue
    return WellbeingSettings()


def _minutes(value: float) -> str:
    return f"{value:.1f}" if 0 < value < 10 else f"{value:.0f}"


def bar(value: float, top: float, width: int = 30) -> str:
    """A horizontal bar of `width` cells for value / top, in eighths of a cell."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(value / top, 1.0) * width * 8)
    return "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


def chart(days: list[DaySummary], width: int = 30) -> str:
    """Weighted minutes per day as one bar per line, oldest first."""
    top = max((d.weighted_minutes for d in days), default=0.0)
    lines = []
    for d in days:
        lines.append(f"{d.day[5:]} {bar(d.weighted_minutes, top, width):<{width}} {_minutes(d.weighted_minutes)}")
    return "\n".join(lines)


def _history_table(days: list[DaySummary], coder: str) -> Any:
    from rich.table import Table

    title = text("Well-being of ", "bold")
    title.append_text(text(coder, "bold", oneline=True))
    title.append(f", last {len(days)} days")
    caption = "Minutes; weighted minutes count severe posts more. " + PRIVACY
    table = Table(title=title, title_justify="left", caption=text(caption), caption_justify="left")
    table.add_column(text("Day"), no_wrap=True, min_width=10)
    for name in ("Weighted", "Raw", "Severe", "Breaks", "Postponed"):
        table.add_column(text(name), justify="right")
    table.add_column(text("Check-ins"))
    for d in reversed(days):  # newest first
        day = text(d.day + (" (limit)" if d.capped else ""))
        table.add_row(day, text(_minutes(d.weighted_minutes)), text(_minutes(d.raw_minutes)),
                      text(_minutes(d.severe_minutes)), text(str(d.breaks_taken)), text(str(d.postponements)),
                      text(", ".join(str(r) for r in d.checkins)))
    return table


@click.group("wellbeing", invoke_without_command=True)
@click.option("--coder", default=None, help="Whose history [default: from the config file].")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366), help="How many days to show.")
@click.option("--delete", is_flag=True, help="Delete the coder's well-being history (asks first).")
@click.option("--yes", is_flag=True, help="With --delete: do not ask.")
@click.pass_context
def wellbeing_group(ctx: click.Context, coder: str | None, days: int, delete: bool, yes: bool) -> None:
    """Your exposure minutes, breaks, postponements and check-ins per day; or delete them."""
    if ctx.invoked_subcommand is not None:
        return
    from tui.core.wellbeing.storage import delete_history, history, load

    project: Project = ctx.obj
    default, mine = _config_wellbeing()
    name = coder or default
    if not name:
        fail("Whose history? Pass --coder NAME (or set `coder:` in the config file).")
    store = project.store()
    out = console()
    if delete:
        if not yes:
            prompt = f"Delete the whole well-being history of {_plain(name)}? This cannot be undone"
            if not click.confirm(prompt, default=False):
                fail("Nothing was deleted.")
        rows = delete_history(store, name)
        out.print(text(f"Deleted {rows} well-being records of {name}. A running break and today's minutes "
                       "stay, because they keep breaks honest.", oneline=True))
        return
    settings = _settings(store, mine)
    summary = history(store, name, days, day_start_hour=settings.day_start_hour)
    out.print(_history_table(summary, name))
    out.print(text("Weighted minutes per day", "bold"))
    out.print(text(chart(summary)))
    today = summary[-1]
    weighted, severe = today.weighted_minutes, today.severe_minutes
    state = load(store, name, settings).s
    if state.day == today.day:  # the running state is what the cap counts, and a deletion keeps it
        weighted, severe = max(weighted, state.weighted_today), max(severe, state.severe_today)
    cap, severe_cap = settings.daily_cap_minutes, settings.daily_severe_cap_minutes
    if state.day == today.day and state.day_limits:  # a limit was reached: today's limits are frozen
        cap, severe_cap = state.day_limits["daily_cap_minutes"], state.day_limits["daily_severe_cap_minutes"]
    out.print(text(f"Today: {_minutes(weighted)} of {_minutes(cap)} weighted minutes; "
                   f"{_minutes(severe)} of {_minutes(severe_cap)} minutes on severe posts."))


def _plain(value: str) -> str:
    from tui.core.safe import clean

    return clean(value, oneline=True)


# ---------------------------------------------------------------- ceilings


def _known(name: str) -> str:
    """A setting name, or a failure naming the closest known one."""
    import difflib
    from dataclasses import fields

    from tui.core.wellbeing.settings import WellbeingSettings

    names = [f.name for f in fields(WellbeingSettings)]
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else "; docs/wellbeing.md lists the known settings."
    fail(f"Unknown well-being setting {_plain(name)!r}{hint}")


def _parse_assignment(item: str) -> tuple[str, Any]:
    """FIELD=VALUE with VALUE read as YAML, the way the config file is written."""
    import yaml

    name, sep, raw = item.partition("=")
    if not sep or not name.strip():
        fail(f"--set takes FIELD=VALUE, such as daily_cap_minutes=200, not {_plain(item)!r}.")
    name = _known(name.strip())
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        fail(f"The value for {name} is not a value qualtui can read: {_plain(raw)!r}.")
    if value is None:
        fail(f"--set {name}= needs a value; use --clear {name} to remove a ceiling.")
    return name, value


@wellbeing_group.command("ceilings")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="Set a ceiling, e.g. daily_cap_minutes=200 or strictness=strict (repeatable).")
@click.option("--clear", "clears", multiple=True, metavar="FIELD",
              help="Remove a ceiling (repeatable; asks first, and takes effect from the next day for a coder "
                   "who already reached a daily limit today).")
@click.option("--yes", is_flag=True, help="With --clear: do not ask.")
@click.pass_obj
def ceilings_cmd(project: Project, assignments: tuple[str, ...], clears: tuple[str, ...], yes: bool) -> None:
    """Show or set the team lead's ceilings: limits a coder's own settings can only make stricter."""
    from tui.core.wellbeing.settings import SettingsError
    from tui.core.wellbeing.storage import set_team_ceilings, team_ceilings

    store = project.store()
    changes: dict[str, Any] = {}
    for item in assignments:
        name, value = _parse_assignment(item)
        changes[name] = value
    for raw in clears:
        name = _known(raw.strip())
        if name in changes:
            fail(f"{name} is both set and cleared; choose one.")
        changes[name] = None
    cleared = [name for name, value in changes.items() if value is None]
    if cleared:
        # A coder who reached a limit keeps that day's limits (they are frozen with the day), so a
        # loosened ceiling cannot reopen post text mid-day.
        console().print(text(CLEAR_NOTE))
        if not yes and not click.confirm(f"Clear the team ceiling{'s' if len(cleared) != 1 else ''} for "
                                         f"{', '.join(cleared)}?", default=False):
            fail("Nothing was changed.")
    if changes:
        try:
            set_team_ceilings(store, changes)  # validates everything before writing anything
        except SettingsError as exc:
            fail(str(exc))
    _print_ceilings(team_ceilings(store), changed=len(changes))


CLEAR_NOTE = ("A cleared ceiling takes effect from the next working day for any coder who has already reached "
              "a daily limit today; until then that coder's limits stay as they were.")


def _print_ceilings(ceilings: dict[str, Any], changed: int) -> None:
    from rich.table import Table

    from tui.core.wellbeing.settings import WellbeingSettings, show_value

    out = console()
    if changed:
        out.print(text(f"Updated {changed} ceiling{'s' if changed != 1 else ''}."))
    if not ceilings:
        out.print(text("No team ceilings are set: each coder's own settings, or the defaults, apply."))
        return
    defaults = WellbeingSettings()
    table = Table(title=text("Team ceilings (a coder's setting can only be stricter)", "bold"),
                  title_justify="left")
    for name in ("Setting", "Team value", "Default"):
        table.add_column(text(name))
    for name in sorted(ceilings):
        table.add_row(text(name), text(show_value(ceilings[name]), oneline=True),
                      text(show_value(getattr(defaults, name, "")), oneline=True))
    out.print(table)


def register(cli: click.Group) -> None:
    """Add this module's commands."""
    cli.add_command(wellbeing_group)
