"""Open coding from start to finish, as two researchers would do it, by keyboard.

Each coder starts from the skeleton codebook in a project of their own and codes 30 sample posts,
creating codes as they meet them, then merging, moving and renaming them on the axial-coding screen.
They exchange files both ways; the lead resolves the codebook differences on the reconciliation
screen; `codebook write` folds everything into the YAML file, which `codebook check` accepts with its
comments kept, and a third project loads it with every coding intact.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.ui.conftest import screen_text
from tui.cli.main import cli
from tui.core.codebook.loading import load_codebook
from tui.core.codebook.model import Codebook
from tui.core.config import Config
from tui.core.paths import skeleton_codebook
from tui.core.project.codebook_log import with_project_changes
from tui.core.project.store import Store
from tui.core.sync.codebook_diff import codebook_differences
from tui.ui.app import QualtuiApp
from tui.ui.reconcile_app import ReconcileApp
from tui.ui.screens.axial import AxialScreen
from tui.ui.screens.reconcile_codebook import CodebookDiffScreen

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_xhs.json"
SIZE = (120, 40)
POSTS = 30
QUIET = Config(wellbeing={"checkins": False}, auto_prelabel=False)


def _cli(home: Path, *args: str) -> str:
    result = CliRunner(env={"HOME": str(home), "COLUMNS": "120"}).invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def _type(pilot: object, text: str) -> None:
    await pilot.press(*["space" if ch == " " else ch for ch in text])  # type: ignore[attr-defined]


async def _new_code(pilot: object, name: str, definition: str) -> None:
    """`n`, the name, Tab, the definition, Enter: created and assigned to the post on screen."""
    await pilot.press("n")  # type: ignore[attr-defined]
    await _type(pilot, name)
    await pilot.press("tab")  # type: ignore[attr-defined]
    await _type(pilot, definition)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def _cursor_to(pilot: object, app: QualtuiApp, node_id: str) -> None:
    screen = app.screen
    assert isinstance(screen, AxialScreen)
    ids = [screen.tree_list.get_option_at_index(i).id for i in range(screen.tree_list.option_count)]
    step = ids.index(node_id) - (screen.tree_list.highlighted or 0)
    await pilot.press(*(["j"] * step if step > 0 else ["k"] * -step))  # type: ignore[attr-defined]


def _id(app: QualtuiApp, name: str) -> str:
    return next(c.id for c in app.session.codebook.codes() if c.name == name)


async def _code_30_posts(db: Path, book: Path, coder: str, plan: dict[str, object]) -> None:
    """One coder's day: new codes on the first posts, then the same codes by their keys, then axial coding."""
    app = QualtuiApp(Store(db), load_codebook(book), coder, mode="coding", config=QUIET)
    created: list[tuple[str, str]] = plan["create"]  # type: ignore[assignment]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for i in range(POSTS):
            if i < len(created):
                await _new_code(pilot, *created[i])
            else:
                name = created[i % len(created)][0]
                await pilot.press(*app.session.codebook.keys(_id(app, name)))
            await pilot.press("enter")  # done: the next post
            await pilot.pause()
        await pilot.press("A")
        assert isinstance(app.screen, AxialScreen)
        for name, parent in plan["move"]:  # type: ignore[attr-defined]
            await _cursor_to(pilot, app, _id(app, name))
            await pilot.press("m")
            await _cursor_to(pilot, app, parent)
            await pilot.press("enter")
            assert app.session.codebook.parent(_id(app, name)).id == parent
        for old, new in plan["rename"]:  # type: ignore[attr-defined]
            await _cursor_to(pilot, app, _id(app, old))
            await pilot.press("e", "ctrl+u")
            await _type(pilot, new)
            await pilot.press("enter")
            assert new in screen_text(app)
        for gone, into in plan["merge"]:  # type: ignore[attr-defined]
            gone_id, into_id = _id(app, gone), _id(app, into)
            await _cursor_to(pilot, app, gone_id)
            await pilot.press("M")
            await _cursor_to(pilot, app, into_id)
            await pilot.press("enter")
            assert app.session.codebook.resolve(gone_id) == into_id
        await pilot.press("escape")
        assert not [n for n in app._notifications if n.severity == "error"], app._notifications
        await pilot.press("q")


def _codings(db: Path, cb: Codebook, coder: str) -> dict[str, set[str]]:
    """platform id -> the codes a coder gave the post, as the codebook now names them."""
    with Store(db) as store:
        ids = {p["id"]: p["platform_id"] for p in store.posts()}
        return {ids[pid]: {cb.resolve(c) or c for c in st.codes} for pid, st in store.states(coder).items()}


async def test_two_coders_code_openly_exchange_reconcile_and_write_the_codebook(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    book = tmp_path / "codebook.yaml"
    shutil.copy(skeleton_codebook(), book)
    comments = [ln.strip() for ln in book.read_text(encoding="utf-8").splitlines() if ln.strip().startswith("#")]
    assert comments  # the skeleton explains itself
    dbs = {who: tmp_path / f"{who}.db" for who in ("ann", "ben", "third")}
    for db in dbs.values():
        _cli(home, "--db", str(db), "--codebook", str(book), "import", str(SAMPLE))

    await _code_30_posts(dbs["ann"], book, "ann", {
        "create": [("Debt bondage", "A debt to the recruiters keeps the person working."),
                   ("Passport taken", "Identity documents are taken away on arrival."),
                   ("Beaten", "The person is hit or kicked by guards."),
                   ("Hit by guards", "Guards strike the person.")],
        "move": [("Debt bondage", "exploitation"), ("Passport taken", "exploitation")],
        "rename": [("Beaten", "Beatings")],
        "merge": [("Hit by guards", "Beatings")],
    })
    await _code_30_posts(dbs["ben"], book, "ben", {
        "create": [("Debt bondage", "Owing money to the recruiters that keeps the person working."),
                   ("Passport taken away", "The person's passport or ID is taken."),
                   ("Violence", "Physical violence by the compound's guards.")],
        "move": [("Debt bondage", "recruitment")],
        "rename": [("Violence", "Physical violence")],
        "merge": [],
    })

    files = {who: tmp_path / f"{who}.jsonl" for who in ("ann", "ben")}
    for who, f in files.items():
        _cli(home, "--db", str(dbs[who]), "--codebook", str(book), "export", "--coder", who, "-o", str(f))
    merged = _cli(home, "--db", str(dbs["ann"]), "--codebook", str(book), "merge", str(files["ben"]))
    assert "codebook: " in merged and "changes came in" in merged
    _cli(home, "--db", str(dbs["ben"]), "--codebook", str(book), "merge", str(files["ann"]))
    file_cb = load_codebook(book)
    both = {who: with_project_changes(dbs[who], file_cb) for who in ("ann", "ben")}
    assert both["ann"] == both["ben"]  # the same events make the same codebook in both projects

    with Store(dbs["ann"]) as store:
        found = codebook_differences(store, file_cb, ["ann", "ben"])
    kinds = {d.kind for d in found}
    assert {"similar", "place"} <= kinds  # the passport codes are alike; the debt codes sit in two places
    app = ReconcileApp(Store(dbs["ann"]), both["ann"], "lead", coders=["ann", "ben"], config=QUIET)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CodebookDiffScreen)
        for _ in range(10):  # the lead keeps ann's side of every difference (one may lead to another)
            if screen.current is None:
                break
            await pilot.press("a", "enter")
            await pilot.pause()
        assert screen.current is None
        assert not [n for n in app._notifications if n.severity == "error"], app._notifications
    with Store(dbs["ann"]) as store:
        assert codebook_differences(store, file_cb, ["ann", "ben"]) == []
    lead_cb = with_project_changes(dbs["ann"], file_cb)
    ann_debt = next(c.id for c in lead_cb.codes() if c.name == "Debt bondage")
    assert sum(1 for c in lead_cb.codes() if c.name == "Debt bondage") == 1  # ben's merged into ann's

    _cli(home, "--db", str(dbs["ann"]), "--codebook", str(book), "codebook", "write")
    checked = _cli(home, "codebook", "check", str(book))
    assert "OK" in checked
    written = book.read_text(encoding="utf-8")
    assert all(c in written for c in comments)  # every comment of the skeleton is still there
    assert "Beatings" in written and ann_debt in written
    assert load_codebook(book).categories == with_project_changes(dbs["ann"], load_codebook(book)).categories

    # A third project, with only the written file and the two coders' files: every coding is there.
    third_out = _cli(home, "--db", str(dbs["third"]), "--codebook", str(book), "merge", str(files["ann"]),
                     str(files["ben"]))
    assert "Traceback" not in third_out
    new_cb = with_project_changes(dbs["third"], load_codebook(book))
    for who in ("ann", "ben"):
        theirs = _codings(dbs["third"], new_cb, who)
        ours = _codings(dbs["ann"], lead_cb, who)
        assert len(theirs) == POSTS and theirs == ours
        assert all(new_cb.node(c) is not None for codes in theirs.values() for c in codes)
