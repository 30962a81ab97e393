"""Tasks per second of `tactics classify` with and without Ray, in one script, on this machine;
and what Ray adds to a run (cluster start-up, moving blocks through the object store).

Each run is a subprocess on the same generated CSV and prints its own timings:
  local      the pipeline as `tactics classify` runs it (torch on every core)
  ray N      `--ray` with N workers (1 CPU each) on a local cluster started for the run
Then, in one more Ray session, a worker that does nothing is run over the same blocks: what is
left is Ray's own cost of scheduling blocks and moving them there and back.

Example:

    python benchmarks/ray_speed.py --rows 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
PLAN = ROOT / "data" / "plan.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_tasks import write_tasks

RUN = r"""
import json, sys, time
t0 = time.perf_counter()
from classifier.model.learning import build_classifier
from classifier.pipeline import Progress, classify_file
from classifier.plan import load_plan
mode, tasks, plan, out, workers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
classifier = build_classifier(load_plan(plan))  # as `tactics classify` builds it
marks = {"model_s": time.perf_counter() - t0}
def rows(count):
    marks.setdefault("first_rows_s", time.perf_counter() - start)
progress = Progress(rows=rows)
if mode == "local":
    start = time.perf_counter()
    summary = classify_file(classifier, tasks, out, progress=progress)
else:
    from classifier import distributed
    began = time.perf_counter()
    with distributed.cluster(workers) as cluster:
        marks["cluster_s"] = time.perf_counter() - began
        start = time.perf_counter()
        summary = classify_file(classifier, tasks, out, progress=progress,
                                batches=distributed.RayBatches(cluster.workers))
        marks["run_s"] = time.perf_counter() - start
        if workers == 1:
            import pickle, numpy as np, pandas as pd, ray
            from classifier.files.readers import iter_chunks, open_tasks
            source = open_tasks(tasks)
            block = distributed.block_size(summary.rows, cluster.workers)
            texts = [pd.DataFrame({"__row": np.arange(len(c)), "__text": c[source.text_column]})
                     for c in iter_chunks(source, block)]
            put = time.perf_counter()
            refs = [ray.put(t) for t in texts]
            marks["put_s"] = time.perf_counter() - put
            marks["blocks"] = len(refs)
            marks["block_rows"] = block
            marks["text_block_bytes"] = len(pickle.dumps(texts[0]))
            batch = classifier.classify_batch(texts[0]["__text"].tolist())
            marks["result_block_bytes"] = len(pickle.dumps(distributed.batch_frame(
                texts[0]["__row"].to_numpy(), batch)))
            class Nothing:
                def __call__(self, frame):
                    return frame
            idle = time.perf_counter()
            dataset = ray.data.from_pandas_refs(refs).map_batches(
                Nothing, batch_size=None, batch_format="pandas", num_cpus=1,
                compute=ray.data.ActorPoolStrategy(size=1, max_tasks_in_flight_per_actor=1))
            for _ in dataset.iter_batches(batch_size=None, batch_format="pandas"):
                pass
            marks["no_op_pass_s"] = time.perf_counter() - idle
marks.setdefault("run_s", time.perf_counter() - start)
marks["rows"] = summary.rows
print(json.dumps(marks))
"""


def measure(name: str, mode: str, tasks: Path, workers: int) -> dict:
    """One subprocess run: its own timings, and its wall and CPU time from outside."""
    out = BENCH / f"ray_speed_{name.replace(' ', '_')}.csv"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)  # a local cluster, started for the run, as measured
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", RUN, mode, str(tasks), str(PLAN), str(out),
                              str(workers)], stdout=subprocess.PIPE, text=True, env=env,
                             cwd=ROOT)
    stdout, _ = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"{name}: exit {child.returncode}")
    marks = json.loads(stdout.strip().splitlines()[-1])
    marks.update(name=name, wall_s=wall, rows_per_s=marks["rows"] / wall,
                 run_rows_per_s=marks["rows"] / marks["run_s"])
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000, help="generated task rows")
    args = parser.parse_args(argv)
    BENCH.mkdir(exist_ok=True)
    tasks = write_tasks(BENCH / f"ray_tasks_{args.rows}.csv", args.rows, seed=7)
    results = [measure("local", "local", tasks, 0), measure("ray 1 worker", "ray", tasks, 1),
               measure("ray 2 workers", "ray", tasks, 2)]
    outputs = {path.read_bytes() for path in BENCH.glob("ray_speed_*.csv")}
    print(f"{args.rows:,} rows, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the end; same bytes in all runs: {len(outputs) == 1}")
    print(f"{'run':<14} {'wall s':>7} {'rows/s':>7} {'model s':>8} {'cluster s':>9} "
          f"{'1st rows s':>10} {'run s':>7} {'run rows/s':>10}")
    for r in results:
        print(f"{r['name']:<14} {r['wall_s']:7.1f} {r['rows_per_s']:7.1f} {r['model_s']:8.1f} "
              f"{r.get('cluster_s', 0):9.1f} {r['first_rows_s']:10.1f} {r['run_s']:7.1f} "
              f"{r['run_rows_per_s']:10.1f}")
    one = results[1]
    print(f"Ray's own cost: cluster start {one['cluster_s']:.1f} s; {one['blocks']} blocks of "
          f"{one['block_rows']:,} rows put in {one['put_s']:.2f} s "
          f"({one['text_block_bytes'] / 1e6:.2f} MB of texts and "
          f"{one['result_block_bytes'] / 1e6:.2f} MB of results a block); a worker doing "
          f"nothing over them: {one['no_op_pass_s']:.1f} s")
    (BENCH / "ray_speed.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
