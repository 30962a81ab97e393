"""The teach-in: how fast review decisions teach a new plan, through the product's own path.

A simulated manager works through the Review page (its teach-in round of 20 tasks, the run
re-scored, then the re-scored run's queue, then, once the queue is empty, its aligned tasks as
the page offers them) over half of the tasks, in sessions of 25; the gold
label stands in for each decision (a strategy, or none). After each session the product
re-builds its classifier from the decisions
(`build_classifier`: the decided tasks become examples or negatives, thresholds re-fitted once
there are enough), and the other half is classified. Plans get no examples and no calibration,
as a new user's plan:
  CLINC 0-shot   intent names; pool val + oos_val, measured on test + oos_test
  SDG whole      goals (short name + title); half the targets and indicators reviewed, the
                 other half measured, four ways of halving (`bench_data.halves`), figures
                 their mean: one halving's 210 tasks swing by several points with which tasks
                 the round happens to deal
  SDG-4          the same with goals 3, 7, 11 and 14 dropped (their tasks serve none)

    .venv/bin/python benchmarks/teach_in.py [--checkpoints 0,25,50,100]
        [--orders teach-in,queue,random,teach-in+history]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_data as bench
import pandas as pd
from bench_data import Labeled

from classifier.model.embedding import get_embedder
from classifier.model.engine import Classifier
from classifier.model.evaluation import metrics, score_labeled
from classifier.model.history import Earlier
from classifier.model.learned import Learned
from classifier.model.learning import build_classifier
from classifier.plan import Plan
from classifier.review import TEACH_IN_SIZE, review_queue, spot_check, teach_in

TARGETS = {25: 0.10, 100: 0.18}  # top-1 gain over no decisions
FOLDS = 4  # SDG: four ways of halving its tasks (bench_data.halves)


def measure(classifier: Classifier, test: Labeled) -> dict:
    result = metrics(score_labeled(classifier, test.texts, test.gold, "test"),
                     classifier.thresholds)
    return {"top1": result["top1_accuracy"], "f1": result["misaligned_f1"],
            "auroc": result["auroc"],
            "flagged": round(result["status_counts"]["misaligned"] / result["rows"], 3)}


def teach_in_round(results: pd.DataFrame, classifier: Classifier,
                   gold: dict[str, str | None]) -> list[str]:
    """The Review page's first round on a new plan: TEACH_IN_SIZE tasks dealt one at a time
    from the untaught run's results, each deal seeing the decisions made so far (as the page
    re-deals after each decision; the run is re-scored once the round is over)."""
    taught: dict[str, str | None] = {}
    picked: list[str] = []
    while len(picked) < TEACH_IN_SIZE:
        left = results[~results["task"].isin(list(taught))]
        learned = Learned.from_labels(list(taught), list(taught.values()))
        dealt = teach_in(left, classifier.thresholds, learned, size=1)
        if dealt.empty:
            break
        text = str(dealt["task"].iloc[0])
        picked.append(text)
        taught[text] = gold[text]
    return picked


def _taught_by(run: pd.DataFrame, decided: dict[str, str | None]) -> Earlier:
    """What a run teaches the next as the store's earlier run: its tasks not called misaligned
    and not decided "serves no strategy" (`store.earlier_tasks`)."""
    said_none = {text for text, label in decided.items() if label is None}
    kept = run.loc[(run["status"] != "misaligned") & ~run["task"].isin(said_none), "task"]
    return Earlier(tuple(kept.drop_duplicates()), (1,))


def curve(plan: Plan, pool: Labeled, test: Labeled, checkpoints: list[int], order: str,
          session: int = 25, history: bool = False) -> list[dict]:
    """Review `pool` in `order` ("teach-in": the Review page's first round then its queue;
    "queue": the queue only; "random"); measure `test` at each checkpoint. With `history`, every
    re-score also learns from the run's own tasks (the store's earlier run), as the product
    does; the first run, before any decision, has no earlier run."""
    embedder = get_embedder()
    # The store's earlier run teaches with the tasks it did not call misaligned (their status
    # in the newest run): the first run's, then each re-score's.
    earlier = (_taught_by(build_classifier(plan, embedder, Learned()).classify_frame(
        pd.DataFrame({"task": pool.texts}), "task"), {}) if history else None)
    gold = dict(zip(pool.texts, pool.gold, strict=True))
    frame = pd.DataFrame({"task": pool.texts})
    shuffled = list(pool.texts)
    random.Random(0).shuffle(shuffled)
    decided: dict[str, str | None] = {}
    rows = []
    while True:
        learned = Learned.from_labels(list(decided), list(decided.values()))
        classifier = build_classifier(plan, embedder, learned,
                                      earlier=earlier if decided else None)
        if len(decided) in checkpoints:
            rows.append({"order": order, "decisions": len(decided), **measure(classifier, test)})
        if len(decided) >= max(checkpoints):
            break
        step = min(session, min(c for c in checkpoints if c > len(decided)) - len(decided))
        if order == "random":
            picked = [t for t in shuffled if t not in decided][:step]
        else:
            results = classifier.classify_frame(frame, "task")
            if history and decided:
                earlier = _taught_by(results, decided)
            picked = []
            if not decided and order == "teach-in":
                picked = teach_in_round(results, classifier, gold)
                # The page re-scores the run once the round is over: the queue that follows
                # deals from the run that knows the round's decisions.
                round_taught = Learned.from_labels(picked, [gold[t] for t in picked])
                classifier = build_classifier(plan, embedder, round_taught, earlier=earlier)
                results = classifier.classify_frame(frame, "task")
                if history:
                    earlier = _taught_by(results, {t: gold[t] for t in picked})
                learned = round_taught
            queue = review_queue(results, classifier.thresholds,
                                 exclude_texts=[*decided, *picked], text_column="task",
                                 learned=learned)
            picked += queue["task"].drop_duplicates().head(step - len(picked)).tolist()
            if len(picked) < step:  # the queue ran dry: the page offers the aligned tasks next
                check = spot_check(results, classifier.thresholds, learned)
                check = check[~check["task"].isin([*decided, *picked])]
                picked += check["task"].drop_duplicates().head(step - len(picked)).tolist()
        if not picked:
            rows.append({"order": order, "decisions": len(decided), "queue_dry": True,
                         **measure(classifier, test)})
            break
        for text in picked:
            decided[text] = gold[text]
    return rows


def mean_of_folds(runs: list[list[dict]]) -> list[dict]:
    """Checkpoint by checkpoint, the mean of each figure over the folds (each fold kept too)."""
    out = []
    for at_checkpoint in zip(*runs, strict=False):
        row = dict(at_checkpoint[0])
        for key in ("top1", "f1", "auroc", "flagged"):
            values = [r[key] for r in at_checkpoint]
            row[key] = (None if any(v is None for v in values)
                        else round(sum(values) / len(values), 4))
        if len(at_checkpoint) > 1:
            row["folds"] = [{k: r[k] for k in ("top1", "f1", "auroc", "flagged")}
                            for r in at_checkpoint]
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="0,25,50,100")
    parser.add_argument("--orders", default="teach-in",
                        help="comma-separated: teach-in (the Review page), queue, random; "
                        "each with +history: re-scores also learn from the run's own tasks")
    parser.add_argument("--only", nargs="*", help="CLINC, SDG, SDG-4")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    checkpoints = sorted({0, *(int(c) for c in args.checkpoints.split(","))})
    data = bench.clinc()
    # Each set: its plan and (reviewed pool, measured tasks) per fold.
    sets: dict[str, tuple[Plan, list[tuple[Labeled, Labeled]]]] = {
        "CLINC": (bench.clinc_plan(data, 0), [(bench.clinc_split(data, "val"),
                                               bench.clinc_split(data, "test"))])}
    for name, dropped in (("SDG", ()), ("SDG-4", bench.SDG_DROPPED)):
        plan, tasks = bench.sdg(dropped)
        sets[name] = (plan, [bench.halves(tasks, fold) for fold in range(FOLDS)])
    rows: list[dict] = []
    for name, (plan, folds) in sets.items():
        if args.only and name not in args.only:
            continue
        for order in args.orders.split(","):
            started = time.perf_counter()
            runs = [curve(plan, pool, test, checkpoints, order.removesuffix("+history"),
                          history=order.endswith("+history"))
                    for pool, test in folds]
            for found in mean_of_folds(runs):
                rows.append({"set": name, **found, "order": order})
            print(f"{name} {order}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"{'set':7} {'order':16} {'decisions':>9} {'top-1':>7} {'gain':>7} {'mis F1':>7} "
          f"{'AUROC':>6} {'flagged':>8}  target")
    base: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["set"], r["order"])
        base.setdefault(key, r["top1"])
        gain = r["top1"] - base[key]
        target = TARGETS.get(r["decisions"])
        verdict = "" if target is None else (
            f"+{target:.2f}: {'met' if gain >= target else 'not reached'}")
        # A plan where every task serves a strategy has no misaligned F1 or AUROC.
        none_true = r["auroc"] is None  # AUROC needs tasks of both kinds; so does the F1
        f1, auroc = ("-" if none_true else f"{v:.3f}" for v in (r["f1"], r["auroc"]))
        print(f"{r['set']:7} {r['order']:16} {r['decisions']:>9} {r['top1']:>7.3f} "
              f"{gain:>+7.3f} {f1:>7} {auroc:>6} {r['flagged']:>8.3f}  {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
