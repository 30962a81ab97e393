"""Fast re-runs: a week's list that is mostly last week's tasks, classified against a store that
keeps task vectors (`--db`), against the first run on an empty store; and the store's size.

Week 1 is a generated tracker export; week 2 keeps 90% of week 1's rows (in another order) and
adds 10% new ones. Both run as `tactics classify ... --db STORE` subprocesses; the reference
work's vectors are cached before timing, so neither run pays for them.

With `--ray`, week 1 is classified on a local Ray cluster (`--ray --workers 2`): its workers'
vectors come back to the store, so week 2 (run without Ray) should be as fast as after a local
week 1.

    .venv/bin/python benchmarks/rerun.py [--rows 4000] [--ray]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench" / "rerun"
PLAN = ROOT / "data" / "plan.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_tasks import rows as generated_rows  # noqa: E402

TARGET = 5.0


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "owner", "effort_hours", "due"])
        writer.writerows(rows)
    return path


def _classify(tasks: Path, db: Path, out: Path, ray: bool = False) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)  # a local cluster, started for the run
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "classifier", "classify", str(tasks), "--plan",
                    str(PLAN), "--out", str(out), "--db", str(db), "-q",
                    *(["--ray", "--workers", "2"] if ray else [])], check=True, env=env,
                   cwd=ROOT, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--ray", action="store_true", help="week 1 on a local Ray cluster")
    args = parser.parse_args(argv)
    BENCH.mkdir(parents=True, exist_ok=True)
    for old in BENCH.glob("*"):
        old.unlink()
    all_rows = [list(map(str, row)) for row in generated_rows(int(args.rows * 1.1), args.seed)]
    week1 = all_rows[:args.rows]
    kept = random.Random(args.seed).sample(week1, int(args.rows * 0.9))
    week2 = kept + all_rows[args.rows:]
    random.Random(args.seed + 1).shuffle(week2)
    first_file = _write(BENCH / "week1.csv", week1)
    second_file = _write(BENCH / "week2.csv", week2)
    warm = _write(BENCH / "warm.csv", [["Warm up the reference cache", "x", "1", "2026-01-01"]])
    _classify(warm, BENCH / "warm.db", BENCH / "warm.out.csv")  # reference vectors cached
    db = BENCH / "store.db"
    first = _classify(first_file, db, BENCH / "week1.out.csv", ray=args.ray)
    size_after_first = db.stat().st_size
    second = _classify(second_file, db, BENCH / "week2.out.csv")
    with sqlite3.connect(db) as conn:
        kept_vectors = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        vector_bytes = conn.execute("SELECT SUM(LENGTH(vector)) FROM vectors").fetchone()[0]
        result_rows = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    size = db.stat().st_size
    ratio = first / second if second else 0.0
    report = {"ray": args.ray, "rows_week1": len(week1), "rows_week2": len(week2),
              "first_s": round(first, 1),
              "second_s": round(second, 1), "speedup": round(ratio, 2),
              "store_bytes": size, "store_bytes_after_first": size_after_first,
              "result_rows": result_rows, "vectors": kept_vectors,
              "bytes_per_task": round(size / result_rows),
              "vector_bytes_per_text": round(vector_bytes / kept_vectors)}
    how = ", --ray" if args.ray else ""
    print(f"first run (empty store{how}) {len(week1):>6} rows  {first:7.1f} s")
    print(f"second run (90% known tasks) {len(week2):>6} rows  {second:7.1f} s")
    print(f"speed-up {ratio:.1f}x (target >= {TARGET:.0f}x: "
          f"{'met' if ratio >= TARGET else 'NOT met'})")
    print(f"store: {size / 1e6:.1f} MB for {result_rows} result rows of 2 runs and "
          f"{kept_vectors} vectors: {size / result_rows:.0f} bytes per task stored "
          f"({vector_bytes / kept_vectors:.0f} bytes per vector)")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
