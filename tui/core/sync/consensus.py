"""Reconciliation: the posts coders disagree on, side by side, and choices recorded as coder `consensus`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.core.codebook.model import Codebook
from tui.core.project.events import CODE_ADD, CODE_REMOVE, CONSENSUS, DONE, RECONCILE, RELEVANCE, Event
from tui.core.project.state import PostState, Quote, derive_state
from tui.core.project.store import Store

KEEP, BOTH, DROP, SET = "keep", "both", "drop", "set"
ACTIONS = (KEEP, BOTH, DROP, SET)
DISAGREEMENT_TYPES = ("missed code", "wrong sub-code", "unclear definition", "other")
RELEVANCE_ITEM = "relevance"
"""The item id of a relevance disagreement, next to the code ids of code disagreements."""
SORTS = ("count", "code", "label")


class ConsensusError(Exception):
    """A reconciliation request that cannot be applied; the message is one clear sentence."""


# ---------------------------------------------------------------- states shared with agreement


def default_coders(store: Store, coders: Sequence[str] | None = None) -> list[str]:
    """The coders to compare: the given ones, else every coder except `consensus`; at least two."""
    known = store.coders()
    if coders:
        chosen = list(dict.fromkeys(c.strip() for c in coders if c.strip()))
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise ConsensusError(f"Coder {unknown[0]!r} has no events in this project.")
    else:
        chosen = [c for c in known if c != CONSENSUS]
    if len(chosen) < 2:
        have = ", ".join(chosen) or "nobody"
        raise ConsensusError(f"Comparing needs at least two coders; this project has {have}.")
    return chosen


def load_states(store: Store, coders: Iterable[str], post_ids: Iterable[int] | None = None
                ) -> dict[str, dict[int, PostState]]:
    """Every coder's derived state per post, read with one query."""
    coders = list(coders)
    by_key: dict[tuple[str, int], list[dict[str, Any]]] = {}
    sql = ("SELECT id, coder, post_id, kind, code_id, value, ref, at FROM events WHERE post_id IS NOT NULL"
           f" AND coder IN ({','.join('?' * len(coders))})")
    params: list[Any] = list(coders)
    if post_ids is not None:
        ids = list(post_ids)
        sql += f" AND post_id IN ({','.join('?' * len(ids))})"
        params += ids
    keys = ("id", "kind", "code_id", "value", "ref", "at")
    for eid, coder, pid, *rest in store.db.conn.execute(sql, params):
        by_key.setdefault((coder, pid), []).append(dict(zip(keys, (eid, *rest), strict=False)))
    out: dict[str, dict[int, PostState]] = {c: {} for c in coders}
    for (coder, pid), rows in by_key.items():
        out[coder][pid] = derive_state(rows)
    return out


def finished_in_common(states: Mapping[str, Mapping[int, PostState]]) -> set[int]:
    """Posts every coder finished (screened out, or coded and marked done): where codes are compared."""
    sets = [{pid for pid, st in by_post.items() if st.finished} for by_post in states.values()]
    return set.intersection(*sets) if sets else set()


def screened(st: PostState) -> bool:
    """True when the coder has a standing relevance decision on the post, or finished it."""
    return st.relevance is not None or st.done


def screened_in_common(states: Mapping[str, Mapping[int, PostState]]) -> set[int]:
    """Posts every coder screened: where relevance is compared (a superset of `finished_in_common`).

    Screening mode records relevance without marking posts done, so relevance cannot wait for
    `done`: two coders who screened the same posts differently must see it.
    """
    sets = [{pid for pid, st in by_post.items() if screened(st)} for by_post in states.values()]
    return set.intersection(*sets) if sets else set()


def is_relevant(st: PostState) -> bool:
    """Relevance as compared: an explicit decision, else relevant when the coder applied codes."""
    return st.relevance == 1 or (st.relevance is None and bool(st.codes))


def current_codes(st: PostState, codebook: Codebook) -> set[str]:
    """The codes a coder applied, as current ids (former ids resolved, unknown ids kept); none if screened out."""
    if st.relevance == 0:
        return set()
    return {codebook.resolve(c) or c for c in st.codes}


# ---------------------------------------------------------------- disagreements


@dataclass(frozen=True)
class CoderView:
    """One coder's decisions on one post, as the reconciliation screen shows them."""

    coder: str
    relevant: bool
    relevance: int | None
    codes: tuple[str, ...]
    memo: str
    quotes: tuple[Quote, ...]
    flagged: bool


@dataclass(frozen=True)
class CodeDiff:
    """One disputed item on a post: a code (or `relevance`) some coders chose and others did not."""

    item: str
    name: str
    chosen_by: tuple[str, ...]
    missing_from: tuple[str, ...]


@dataclass(frozen=True)
class Disagreement:
    """One post compared across coders: each coder's view, what they agree on and what they dispute."""

    post_id: int
    label: str
    coders: tuple[str, ...]
    views: dict[str, CoderView]
    agreed: tuple[str, ...]
    disputed: tuple[CodeDiff, ...]
    resolved: bool
    decided: frozenset[str] = field(default_factory=frozenset)

    @property
    def count(self) -> int:
        """How many items (codes, relevance) are disputed."""
        return len(self.disputed)

    @property
    def open_items(self) -> tuple[CodeDiff, ...]:
        """Disputed items no reconcile choice has decided yet."""
        return tuple(d for d in self.disputed if d.item not in self.decided)


def _name(codebook: Codebook, item: str) -> str:
    if item == RELEVANCE_ITEM:
        return "Relevance"
    return codebook.path_str(item) if codebook.node(item) is not None else f"{item} (not in the codebook)"


def _order(codebook: Codebook) -> dict[str, int]:
    return {node.id: i for i, node in enumerate(codebook.nodes())}


def _compare(post_id: int, label: str, coders: Sequence[str], states: Mapping[str, Mapping[int, PostState]],
             consensus: PostState | None, codebook: Codebook, rank: Mapping[str, int],
             decided: frozenset[str], with_codes: bool = True) -> Disagreement:
    views: dict[str, CoderView] = {}
    for c in coders:
        st = states[c].get(post_id, PostState())
        codes = sorted(current_codes(st, codebook), key=lambda x: (rank.get(x, len(rank)), x))
        views[c] = CoderView(c, is_relevant(st), st.relevance, tuple(codes), st.memo, tuple(st.quotes), st.flagged)
    sets = {c: set(v.codes) for c, v in views.items()}
    agreed = set.intersection(*sets.values())
    disputed: list[CodeDiff] = []
    rel = {c: v.relevant for c, v in views.items()}
    if len(set(rel.values())) > 1:
        disputed.append(CodeDiff(RELEVANCE_ITEM, "Relevance", tuple(c for c in coders if rel[c]),
                                 tuple(c for c in coders if not rel[c])))
    # Codes are disputed only on posts every coder finished: a post still being coded is not a disagreement.
    for item in sorted(set.union(*sets.values()) - agreed if with_codes else (),
                       key=lambda x: (rank.get(x, len(rank)), x)):
        disputed.append(CodeDiff(item, _name(codebook, item), tuple(c for c in coders if item in sets[c]),
                                 tuple(c for c in coders if item not in sets[c])))
    resolved = consensus is not None and consensus.finished
    return Disagreement(post_id, label, tuple(coders), views,
                        tuple(sorted(agreed, key=lambda x: (rank.get(x, len(rank)), x))), tuple(disputed),
                        resolved, decided)


def _decided(store: Store, post_ids: Iterable[int] | None = None) -> dict[int, frozenset[str]]:
    """Per post, the items consensus reconcile events have decided ('' for a whole-post choice)."""
    out: dict[int, set[str]] = {}
    sql = "SELECT post_id, code_id FROM events WHERE coder = ? AND kind = ?"
    params: list[Any] = [CONSENSUS, RECONCILE]
    if post_ids is not None:
        ids = list(post_ids)
        sql += f" AND post_id IN ({','.join('?' * len(ids))})"
        params += ids
    for pid, item in store.db.conn.execute(sql, params):
        out.setdefault(pid, set()).add(item)
    return {pid: frozenset(items) for pid, items in out.items()}


def disagreements(store: Store, codebook: Codebook, *, coders: Sequence[str] | None = None, sort: str = "count",
                  code: str | None = None, unresolved_only: bool = False) -> list[Disagreement]:
    """Posts the compared coders disagree on, sorted by `count`, `code` or `label`.

    Relevance is compared on every post all of them screened, codes on the posts all of them
    finished. `code` keeps posts where that code (or one of its sub-codes, or `relevance`) is disputed.
    """
    if sort not in SORTS:
        raise ConsensusError(f"Unknown sort {sort!r}: use count, code or label.")
    chosen = default_coders(store, coders)
    states = load_states(store, chosen + [CONSENSUS])
    cons = states.pop(CONSENSUS)
    common = screened_in_common(states)
    finished = finished_in_common(states)
    labels = dict(store.db.conn.execute("SELECT id, label FROM posts"))
    rank = _order(codebook)
    decided = _decided(store)
    target = (codebook.resolve(code) or code) if code else None
    out = []
    for pid in common:
        d = _compare(pid, labels[pid], chosen, states, cons.get(pid), codebook, rank, decided.get(pid, frozenset()),
                     pid in finished)
        if not d.disputed or (unresolved_only and d.resolved):
            continue
        if target and not any(x.item == target or x.item.startswith(target + "/") for x in d.disputed):
            continue
        out.append(d)
    end = len(rank)
    if sort == "count":
        out.sort(key=lambda d: (-d.count, d.label))
    elif sort == "code":
        out.sort(key=lambda d: (min(rank.get(x.item, end) if x.item != RELEVANCE_ITEM else -1
                                    for x in d.disputed), -d.count, d.label))
    else:
        out.sort(key=lambda d: d.label)
    return out


def disputed_codes(items: Iterable[Disagreement]) -> list[tuple[str, int]]:
    """How many posts dispute each item, most disputed first (a side list for the screen)."""
    counts: dict[str, int] = {}
    for d in items:
        for x in d.disputed:
            counts[x.item] = counts.get(x.item, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def compare_post(store: Store, codebook: Codebook, post_id: int, *, coders: Sequence[str] | None = None
                 ) -> Disagreement:
    """One post compared across coders, whether or not they disagree; codes are disputed once all finished it."""
    post = store.post(post_id)
    if post is None:
        raise ConsensusError(f"There is no post with id {post_id} in this project.")
    chosen = default_coders(store, coders)
    states = load_states(store, chosen + [CONSENSUS], [post_id])
    cons = states.pop(CONSENSUS).get(post_id)
    decided = _decided(store, [post_id]).get(post_id, frozenset())
    finished = all(states[c].get(post_id, PostState()).finished for c in chosen)
    return _compare(post_id, post["label"], chosen, states, cons, codebook, _order(codebook), decided, finished)


# ---------------------------------------------------------------- choices


@dataclass(frozen=True)
class Choice:
    """A reconciliation decision for a whole post (`item` empty) or one disputed item (a code id or `relevance`).

    keep: what `coder` decided; both: the union (relevant if any coder said so); drop: only what every
    coder agreed on; set: exactly `codes` and `relevance`.
    """

    action: str
    coder: str = ""
    codes: frozenset[str] = frozenset()
    relevance: int | None = None
    item: str = ""
    type: str = "other"
    note: str = ""


def _target(d: Disagreement, choice: Choice, codes: set[str], relevant: bool,
            codebook: Codebook) -> tuple[set[str], bool]:
    """The consensus codes and relevance after the choice, from the current (or agreed) ones."""
    views = d.views
    if not choice.item:
        if choice.action == KEEP:
            v = views[choice.coder]
            return set(v.codes), v.relevant
        if choice.action == BOTH:
            return set().union(*(set(v.codes) for v in views.values())), any(v.relevant for v in views.values())
        if choice.action == DROP:
            return set(d.agreed), all(v.relevant for v in views.values())
        chosen = {codebook.resolve(c) or c for c in choice.codes}
        return chosen, bool(choice.relevance) if choice.relevance is not None else bool(chosen)
    if choice.item == RELEVANCE_ITEM:
        if choice.action == KEEP:
            return codes, views[choice.coder].relevant
        return codes, choice.action == BOTH or (choice.action == SET and bool(choice.relevance))
    item = codebook.resolve(choice.item) or choice.item
    if choice.action == KEEP:
        present = item in views[choice.coder].codes
    else:
        present = choice.action == BOTH or (choice.action == SET and item in {codebook.resolve(c) or c
                                                                             for c in choice.codes})
    # Keeping a code on a post makes it relevant: a screened-out post carries no codes.
    return (codes | {item}) if present else (codes - {item}), relevant or present


def _validate(d: Disagreement, choice: Choice, codebook: Codebook) -> None:
    if choice.action not in ACTIONS:
        raise ConsensusError(f"Unknown choice {choice.action!r}: use keep, both, drop or set.")
    if choice.type not in DISAGREEMENT_TYPES:
        raise ConsensusError(f"Unknown disagreement type {choice.type!r}: use {', '.join(DISAGREEMENT_TYPES)}.")
    if choice.action == KEEP and choice.coder not in d.coders:
        raise ConsensusError(f"'keep' needs one of the compared coders ({', '.join(d.coders)}).")
    allowed = (0, 1) if choice.item == RELEVANCE_ITEM else (None, 0, 1)
    if choice.action == SET and choice.item in ("", RELEVANCE_ITEM) and choice.relevance not in allowed:
        raise ConsensusError("A reconciled relevance must be 0 or 1.")
    unknown = [c for c in choice.codes if codebook.resolve(c) is None]
    if choice.action == SET and unknown:
        raise ConsensusError(f"The code {unknown[0]!r} is not in the codebook.")
    if choice.item and choice.item != RELEVANCE_ITEM and codebook.resolve(choice.item) is None \
            and choice.item not in {x.item for x in d.disputed}:
        raise ConsensusError(f"The code {choice.item!r} is not in the codebook.")


def apply_choice(store: Store, codebook: Codebook, post_id: int, choice: Choice, *,
                 coders: Sequence[str] | None = None, by: str = "") -> PostState:
    """Record a choice as `consensus` events (codes, relevance, reconcile note, done) in one transaction.

    The first choice on a post starts consensus from what every coder agreed on. A whole-post choice
    finishes the post; item choices finish it once every disputed item is decided. Returns the new state.
    """
    d = compare_post(store, codebook, post_id, coders=coders)
    _validate(d, choice, codebook)
    current = store.state(CONSENSUS, post_id)
    raw = {codebook.resolve(c) or c: c for c in current.codes}  # current id -> id as recorded
    if current.n_events:
        base, relevant = set(raw), is_relevant(current)
    else:
        base, relevant = set(d.agreed), all(v.relevant for v in d.views.values())
    codes, relevant = _target(d, choice, base, relevant, codebook)
    if not relevant:
        codes = set()
    events: list[Event] = []

    def add(kind: str, code_id: str = "", value: str = "") -> None:
        events.append(Event(CONSENSUS, post_id, kind, code_id=code_id, value=value, codebook_hash=codebook.hash))

    rel_value = 1 if relevant else 0
    if current.relevance != rel_value:
        add(RELEVANCE, value=str(rel_value))
    for item in sorted(set(raw) - codes):
        add(CODE_REMOVE, raw[item])
    for item in sorted(codes - set(raw)):
        add(CODE_ADD, item)
    note = {"choice": choice.action, "coder": choice.coder, "type": choice.type, "note": choice.note,
            "coders": list(d.coders), "by": by, "disputed": [x.item for x in d.disputed]}
    if choice.action == SET:
        note["codes"] = sorted(codes)
    add(RECONCILE, choice.item, json.dumps(note, ensure_ascii=False))
    decided = d.decided | {choice.item}
    if not current.done and ("" in decided or all(x.item in decided for x in d.disputed)):
        add(DONE, value="1")
    store.record_many(events)
    return store.state(CONSENSUS, post_id)
