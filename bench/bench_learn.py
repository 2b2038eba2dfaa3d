"""Learning from the coders: qualtui's learned relevance screen against what a user would pick instead.

    python bench/bench_prelabel.py --learn [--model PATH] [--threads 1] [--splits 10]

For each corpus the model screens and embeds every post once (cached in a project file beside the
others in the temp folder, so a second run does no model work). Then, for N = 20, 50 and 100 coder
decisions (10 seeded random draws each), both screens are fitted on the same N posts and judged on all
the others:

* qualtui: `RelevanceModel` (TF-IDF and embedding logistic regressions, stacked) with the threshold
  chosen from the N decisions for the codebook's target false-negative rate (`choose_threshold`);
* baseline: class-balanced TF-IDF (word 1-2 + char 2-5 grams) + scikit-learn's LogisticRegression,
  fitted on the N posts' text only, deciding at 0.5 — what a user with scikit-learn would do.

Corpora: the real SMS Spam Collection (`../shared/reference/sms-spam-collection`, read only if present;
"spam" is "relevant", the screening prompt asks for spam); the same messages joined into posts of
100-600 characters (the length of Xiaohongshu notes); and the synthetic sample corpus (data/).
"""

from __future__ import annotations

import copy
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMS_REL = Path("shared") / "reference" / "sms-spam-collection" / "SMSSpamCollection"
SPAM_PROMPT = """Is this text message spam (unsolicited advertising, prize or premium-rate offers)? \
Answer 1 for spam, 0 for a normal personal message.

{examples}

Message:
{post}
Answer (0 or 1):"""
SPAM_EXAMPLES = (("WINNER!! You have won a £900 prize reward! To claim call 09061701461.", 1),
                 ("Ok lar... Joking wif u oni...", 0),
                 ("Free entry in 2 a wkly comp to win FA Cup final tkts. Text FA to 87121", 1),
                 ("I'm gonna be home soon and i don't want to talk about this stuff anymore tonight", 0))


def sms_file() -> Path | None:
    """The shared SMS corpus beside this checkout, wherever the checkout is; None if absent."""
    return next((p / SMS_REL for p in ROOT.parents if (p / SMS_REL).exists()), None)


def sms_rows(path: Path) -> list[tuple[int, str]]:
    """(1 for spam, text) per message, in a seeded random order."""
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
    out = [(int(label == "spam"), text) for label, text in rows]
    random.Random(7).shuffle(out)
    return out


def sms_corpus(rows: list[tuple[int, str]], n_ham: int = 300, n_spam: int = 100) -> list[tuple[int, str]]:
    """n_ham + n_spam distinct short messages, shuffled."""
    seen: set[str] = set()
    ham, spam = [], []
    for y, t in rows:
        if t in seen:
            continue
        seen.add(t)
        (spam if y else ham).append((y, t))
    out = ham[:n_ham] + spam[:n_spam]
    random.Random(1).shuffle(out)
    return out


def long_corpus(rows: list[tuple[int, str]], n_ham: int = 150, n_spam: int = 50) -> list[tuple[int, str]]:
    """Posts of 100-600 characters (uniform target), each joined from messages of one class, unused elsewhere."""
    rng = random.Random(3)
    pools = {0: [t for y, t in rows[2000:] if y == 0], 1: [t for y, t in rows if y == 1][110:]}
    out = []
    for y, n in ((0, n_ham), (1, n_spam)):
        pool, i = pools[y], 0
        for _ in range(n):
            target, parts = rng.randint(100, 600), []
            while sum(len(p) + 1 for p in parts) < target:
                parts.append(pool[i % len(pool)])
                i += 1
            out.append((y, " ".join(parts)[:target + 80]))
    rng.shuffle(out)
    return out


def mix_posts(kind: str, n: int) -> list[str]:
    """n real texts for the speed benchmark: 'sms' (short messages) or 'long' (100-600 characters, like RedNote)."""
    path = sms_file()
    if path is None:
        sys.exit("--mix needs the shared SMS Spam Collection beside this checkout")
    rows = sms_rows(path)
    items = sms_corpus(rows) if kind == "sms" else long_corpus(rows)
    return [t for _, t in items[:n]]


def spam_codebook(cb: Any) -> Any:
    """The shipped codebook with a screening prompt that asks for spam."""
    from tui.core.codebook.model import ScreeningExample

    ex = tuple(ScreeningExample(t, y) for t, y in SPAM_EXAMPLES)
    return dataclasses.replace(cb, screening=dataclasses.replace(cb.screening, prompt=SPAM_PROMPT, examples=ex))


def project(name: str, items: list[tuple[int, str]] | None, cb: Any, args: Any) -> tuple[Any, Any]:
    """A project file with the corpus imported, screened and embedded, and the gold labels as consensus."""
    from tui.core.prelabel.backends.llama import LlamaBackend
    from tui.core.prelabel.run import run_prelabel
    from tui.core.project.events import CONSENSUS, Event
    from tui.core.project.store import Store, text_hash

    store = Store(Path(tempfile.gettempdir()) / f"qualtui-bench-learn-{name}.db")
    if store.count_posts() == 0:
        if items is None:
            from bench.bench_prelabel import gold_events
            from tui.core.project.ingest import import_file

            import_file(store, ROOT / "data" / "sample_xhs.json")
            gold_events(store, cb)
        else:
            with store.db.conn as conn:
                ids = [conn.execute("INSERT INTO posts (platform, platform_id, label, title, text, text_hash)"
                                    " VALUES ('sms', ?, ?, '', ?, ?)",
                                    (f"m{i}", f"P-{i:04d}", t, text_hash("", t))).lastrowid
                       for i, (_, t) in enumerate(items)]
            store.record_many(Event(CONSENSUS, pid, "relevance", value=str(y))
                              for pid, (y, _) in zip(ids, items, strict=True))
    backend = LlamaBackend(args.model, n_ctx=args.n_ctx, n_threads=args.threads)
    t0 = time.perf_counter()
    run = run_prelabel(store, cb, backend, codes=True, learn_from_coders=False,
                       progress=lambda d, n, c: print(f"\r{name} {d}/{n}", end="", file=sys.stderr))
    backend.close()
    print(file=sys.stderr)
    print(f"{name:10} {run.n_posts} posts, {run.n_scored} scored now, {run.n_cached} cached "
          f"({time.perf_counter() - t0:.0f} s, {Path(args.model).name}, {args.threads} thread(s))")
    return store, cb


def baseline(texts_train: list[str], y: Any, texts_test: list[str]) -> Any:
    """Class-balanced TF-IDF (word 1-2 + char 2-5) + LogisticRegression, fitted on the training texts only."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    pipe = make_pipeline(make_union(TfidfVectorizer(analyzer="word", ngram_range=(1, 2)),
                                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))),
                         LogisticRegression(class_weight="balanced", max_iter=1000))
    return pipe.fit(texts_train, y).predict_proba(texts_test)[:, 1]


def scores(y: Any, p: Any, thr: float) -> tuple[float, float, float]:
    """Accuracy, AUC and false-negative rate of probabilities p cut at thr."""
    from sklearn.metrics import roc_auc_score

    pred = p >= thr
    pos = y == 1
    return float((pred == pos).mean()), float(roc_auc_score(y, p)), float((~pred & pos).sum() / max(1, pos.sum()))


def curve(name: str, store: Any, cb: Any, splits: int, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Mean accuracy, AUC and FNR of qualtui's learned screen and the baseline after N decisions."""
    from tui.core.prelabel.dataset import Dataset
    from tui.core.prelabel.metrics import choose_threshold

    proj = Dataset(store, cb, None)
    idx, y = proj.relevance_set()
    target = cb.screening.target_fnr
    llm = proj.llm_p[idx]
    a0, auc0, f0 = scores(y, np.nan_to_num(llm, nan=0.5), 0.5)
    print(f"{name:10} model alone (threshold 0.5) on all {len(idx)}: accuracy {a0:.3f}, AUC {auc0:.3f}, "
          f"FNR {f0:.3f}; {int(y.sum())} relevant; target FNR {target:.3f}")
    # The same screen without embeddings, as after `qualtui prelabel --no-codes`: text and the model's score.
    plain = copy.copy(proj)
    plain.reduced = np.zeros((len(proj.ids), 0))
    rows = []
    for n in sizes:
        if len(idx) - n < 40:
            print(f"{name:10} {n:3d} decisions  skipped: only {len(idx) - n} other posts to judge it on")
            continue
        res: dict[str, list[tuple[float, float, float]]] = {"ours": [], "text": [], "base": []}
        secs = []
        for draw in range(splits):
            rng = np.random.default_rng(draw)
            order = rng.permutation(len(idx))
            while min(int(y[order[:n]].sum()), n - int(y[order[:n]].sum())) < 2:  # a coder sees both kinds
                order = rng.permutation(len(idx))
            train, test = order[:n], order[n:]
            for key, data in (("ours", proj), ("text", plain)):
                t0 = time.perf_counter()
                model = data.relevance_model(idx[train], y[train])
                thr = choose_threshold(y[train], model.oof, target)
                res[key].append(scores(y[test], model.predict(idx[test]), thr))
                if key == "ours":
                    secs.append(time.perf_counter() - t0)
            res["base"].append(scores(y[test], baseline([proj.texts[i] for i in idx[train]], y[train],
                                                        [proj.texts[i] for i in idx[test]]), 0.5))
        o, t, b = (np.mean(res[k], axis=0) for k in ("ours", "text", "base"))
        rows.append({"corpus": name, "n": n, "ours": o, "text": t, "base": b})
        print(f"{name:10} {n:3d} decisions  qualtui acc {o[0]:.3f} AUC {o[1]:.3f} FNR {o[2]:.3f}  |  baseline acc "
              f"{b[0]:.3f} AUC {b[1]:.3f} FNR {b[2]:.3f}  |  ratio acc {o[0] / b[0]:.3f} AUC {o[1] / b[1]:.3f}  "
              f"|  without embeddings acc {t[0]:.3f} AUC {t[1]:.3f} FNR {t[2]:.3f}  ({np.mean(secs):.2f} s per fit)")
    return rows


def main(args: Any) -> None:
    """Every corpus that is present: prepare it, then print its learning curve beside the baseline."""
    from tui.core.codebook.loading import load_codebook

    cb = load_codebook(args.codebook)
    sizes = (20, 50, 100)
    todo: list[tuple[str, list[tuple[int, str]] | None, Any]] = []
    path = sms_file()
    if path is None:
        print("sms        the shared SMS Spam Collection is not beside this checkout: skipped")
    else:
        rows = sms_rows(path)
        todo += [("sms", sms_corpus(rows), spam_codebook(cb)), ("sms-long", long_corpus(rows), spam_codebook(cb))]
    todo.append(("sample", None, cb))
    wanted = set(args.corpora.split(",")) if args.corpora else None
    results = []
    for name, items, book in todo:
        if wanted and name not in wanted:
            continue
        store, book = project(name, items, book, args)
        results += curve(name, store, book, args.splits, sizes)
    missed = [r for r in results if r["ours"][0] < r["base"][0] or r["ours"][1] < r["base"][1]
              or r["ours"][2] > cb.screening.target_fnr]
    print(f"goal       at or above the baseline on accuracy and AUC, FNR at or under the target: "
          f"met at {len(results) - len(missed)} of {len(results)} points"
          + ("" if not missed else "; missed at " + ", ".join(
              f"{r['corpus']}@{r['n']} (accuracy {r['ours'][0] - r['base'][0]:+.4f}, "
              f"AUC {r['ours'][1] - r['base'][1]:+.4f}, FNR {r['ours'][2]:.3f})" for r in missed)))
