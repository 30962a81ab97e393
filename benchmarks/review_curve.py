"""Learning curve from review decisions on CLINC150 zero-shot (strategies = intent names).

A simulated manager works through the review queue over val + oos_val, in the order the queue
shows it, in sessions; the gold label stands in for the decision (confirm / reassign / none).
After each session the product's path re-runs: Classifier(plan, learned=Learned(...)), thresholds
re-fitted from the decisions. At 0, 50, 100, 300 and 1000 reviews, test + oos_test is classified.
A "random" order (same sessions, tasks drawn at random) is the comparison.

    .venv/bin/python benchmarks/review_curve.py [--session 50] [--json out/review_curve.json]
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

import pandas as pd

from classifier.model.embedding import get_embedder
from classifier.model.engine import Classifier
from classifier.model.evaluation import metrics, score_labeled
from classifier.model.learned import Learned
from classifier.plan import plan_from_dict
from classifier.review import review_queue

DATA = ROOT.parent / "shared" / "bench" / "clinc150" / "data_full.json"


def load_clinc(path: Path) -> dict[str, list[tuple[str, str | None]]]:
    """CLINC150 splits as (text, intent) pairs; out-of-scope queries get intent None."""
    raw = json.loads(path.read_text())
    return {split: [(text, None if split.startswith("oos") or intent == "oos" else intent)
                    for text, intent in pairs] for split, pairs in raw.items()}


def zero_shot_plan(intents: list[str]):
    """One strategy per intent, named after it, with no examples."""
    return plan_from_dict({"vision": "CLINC150", "strategies": [
        {"id": intent, "name": intent.replace("_", " ")} for intent in intents]}, "CLINC150")


def prime_cache(embedder, texts: list[str]) -> None:
    """Encode the benchmark's texts once; every later Classifier reuses the embedder's cache."""
    unique = sorted(set(texts))
    start = time.perf_counter()
    embedder.embed(unique)
    print(f"encoded {len(unique)} texts in {time.perf_counter() - start:.0f}s", file=sys.stderr)


def evaluate(classifier: Classifier, test: list[tuple[str, str | None]]) -> dict:
    scored = score_labeled(classifier, [t for t, _ in test], [g for _, g in test], "test")
    result = metrics(scored, classifier.thresholds)
    return {"top1": result["top1_accuracy"], "misaligned_f1": result["misaligned_f1"],
            "decision_accuracy": result["decision_accuracy"], "auroc": result["auroc"],
            "thresholds": {k: result["thresholds"][k] for k in ("aligned", "misaligned", "margin")}}


def curve(plan, embedder, pool: list[tuple[str, str | None]], test, checkpoints: list[int],
          order: str, session: int, seed: int = 0) -> list[dict]:
    """Review `pool` in `order` ("queue" or "random"), evaluating on `test` at each checkpoint."""
    gold = dict(pool)
    frame = pd.DataFrame({"task": [t for t, _ in pool]})
    shuffled = [t for t, _ in pool]
    random.Random(seed).shuffle(shuffled)
    decided: dict[str, str | None] = {}
    rows = []
    target = max(checkpoints)
    while True:
        learned = Learned.from_labels(list(decided), list(decided.values()))
        classifier = Classifier(plan, embedder, learned=learned)
        if len(decided) in checkpoints or len(decided) == 0:
            rows.append({"order": order, "reviews": len(decided), **evaluate(classifier, test)})
            print(f"  {order:6} {len(decided):5} reviews: {rows[-1]}", file=sys.stderr)
        if len(decided) >= target:
            break
        step = min(session, min(c for c in checkpoints if c > len(decided)) - len(decided))
        if order == "random":
            picked = [t for t in shuffled if t not in decided][:step]
        else:
            results = classifier.classify_frame(frame, "task")
            queue = review_queue(results, classifier.thresholds, exclude_texts=list(decided),
                                 text_column="task", learned=learned)
            picked = queue["task"].drop_duplicates().head(step).tolist()
        if not picked:
            print(f"  {order}: the queue ran dry after {len(decided)} reviews", file=sys.stderr)
            rows.append({"order": order, "reviews": len(decided), "queue_dry": True,
                         **evaluate(classifier, test)})
            break
        for text in picked:
            decided[text] = gold[text]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--session", type=int, default=50, help="decisions between re-runs")
    parser.add_argument("--checkpoints", default="50,100,300,1000")
    parser.add_argument("--orders", default="queue,random")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    checkpoints = [int(c) for c in args.checkpoints.split(",")]

    data = load_clinc(args.data)
    intents = sorted({g for _, g in data["train"] if g is not None})
    plan = zero_shot_plan(intents)
    pool = data["val"] + data["oos_val"]
    test = data["test"] + data["oos_test"]
    embedder = get_embedder()
    prime_cache(embedder, [t for t, _ in pool + test] + [t for s in plan.strategies
                                                          for t in s.texts()])

    rows = []
    for order in args.orders.split(","):
        start = time.perf_counter()
        rows += curve(plan, embedder, pool, test, checkpoints, order, args.session)
        print(f"  {order}: {time.perf_counter() - start:.0f}s", file=sys.stderr)

    print(f"\n{'order':8}{'reviews':>8}{'top-1':>8}{'mis F1':>8}{'decision':>10}"
          f"{'AUROC':>8}  thresholds (aligned/misaligned/margin)")
    for row in rows:
        t = row["thresholds"]
        print(f"{row['order']:8}{row['reviews']:>8}{row['top1']:>8.3f}{row['misaligned_f1']:>8.3f}"
              f"{row['decision_accuracy']:>10.3f}{row['auroc']:>8.3f}  "
              f"{t['aligned']:.3f}/{t['misaligned']:.3f}/{t['margin']:.2f}")
    report = {"benchmark": "CLINC150 zero-shot, review curve", "session": args.session,
              "pool": "val+oos_val", "test": "test+oos_test", "model": embedder.model_name,
              "rows": rows}
    print(json.dumps(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
