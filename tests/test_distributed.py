"""`tactics classify --ray` on a real local Ray cluster, started by the tests on 127.0.0.1 and
stopped afterwards: the same bytes as the run without Ray, even when a worker is killed mid-run;
a bad row reported the same way; the store and the LLM second opinion the same; and without Ray
installed, one line saying how to get it."""

from __future__ import annotations

import codecs
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from llm_server import answer

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "data" / "plan.yaml"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_tasks import rows as generated_rows  # noqa: E402

WORKER_TITLE = b"ray::MapWorker(MapBatches(ClassifyBlock))"
WORKER_LOST = ("Ray: a worker stopped mid-run (killed, or out of memory); its rows are classified "
               "again")


def tactics(*args: str | Path, env: dict[str, str] | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    """The command line, as a user runs it."""
    return subprocess.run([str(BIN / "tactics"), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_nothing_but_the_ray_module_imports_ray():
    code = ("import sys, classifier, classifier.cli, classifier.pipeline, classifier.distributed, "
            "classifier.store, classifier.llm, classifier.report, classifier.review; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_without_ray_the_option_says_how_to_get_it(tmp_path):
    out = tmp_path / "out.csv"
    code = ("import sys; sys.modules['ray'] = None; from classifier.cli import main; "
            f"sys.argv = ['tactics', 'classify', {str(ROOT / 'data/tasks.csv')!r}, '--plan', "
            f"{str(PLAN)!r}, '--out', {str(out)!r}, '--ray']; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "error: --ray needs Ray: pip install 'tactic-classifier[ray]'\n"
    assert list(tmp_path.iterdir()) == []


def test_a_worker_sends_back_what_it_embedded_and_the_driver_keeps_it(classifier, tmp_path):
    """A worker cannot reach the driver's store: the vectors it embeds for a block (tasks and
    a long task's pieces) come back with the block's results and go into the store, so the
    next run of these tasks needs no model (without Ray, `embed` keeps them there itself)."""
    import copy
    import uuid

    import numpy as np

    from classifier.distributed import workers
    from classifier.model.pieces import Pieces
    from classifier.model.work_text import work_text
    from classifier.store import Store

    tag = uuid.uuid4().hex[:8]  # texts no other test embedded (the model's cache is shared)
    texts = [f"Pitch the W-{tag} to Riverside Hardware (OPS-12)", f"Fix the {tag} coffee machine",
             f"Pitch the W-{tag} to Riverside Hardware (OPS-12)",
             f"Renew the {tag} audit, book the external auditor, send the checklist to QA", ""]
    read = sorted({work_text(text) for text in texts if text})
    pieces = Pieces.of(read).texts
    assert pieces  # the long task is also embedded in pieces
    with Store(tmp_path / "store.db") as store:
        driver = copy.copy(classifier)
        driver.vectors = store
        worker = workers.ClassifyBlock(workers.ClassifierSpec.of(driver))
        result = worker(pd.DataFrame({workers.ROW: np.arange(len(texts)), workers.TEXT: texts}))
        before = store.vectors_count()
        workers.keep_vectors(driver, result)
        kept = store.vectors_get(classifier.embedder.fingerprint, read + pieces,
                                 classifier.embedder.dimension)
        assert store.vectors_count() - before == len(read) + len(pieces) == len(kept)
        for text, vector in kept.items():
            assert np.array_equal(vector, classifier.embedder.embed([text])[0])
        again = worker(pd.DataFrame({workers.ROW: [0], workers.TEXT: texts[:1]}))
        assert again[workers.VECTOR].isna().all()  # nothing new embedded, nothing sent again
    assert workers.ClassifierSpec.of(classifier).keep_vectors is False


# ---------------------------------------------------------------------- a real cluster


def test_a_ray_threads_traceback_stays_out_of_stderr_and_ours_does_not():
    """Ray Data's own threads may die on their way out (its "completion-signaler" puts to a
    queue already shut): no traceback for the user. A thread of anyone else still reports."""
    from classifier.distributed.cluster import _ray_threads_quiet

    def code_of(module: str):
        scope = {"__name__": module}
        exec("def target():\n    raise InterruptedError('queue shut')", scope)
        return scope["target"]

    reported: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: reported.append(str(args.exc_value))
    try:
        with _ray_threads_quiet():
            for module in ("ray.data._internal.dynamic_work_queue", "classifier.elsewhere"):
                thread = threading.Thread(target=code_of(module))
                thread.start()
                thread.join()
    finally:
        threading.excepthook = previous
    assert reported == ["queue shut"]  # the second thread's, not Ray's


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_with(token: str) -> list[int]:
    """Processes whose environment holds this cluster's token: the cluster's, and only them."""
    needle = f"RAY_AUTH_TOKEN={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _workers(token: str) -> list[int]:
    """This cluster's classifier workers (Ray titles their processes by the worker class)."""
    found = []
    for pid in _processes_with(token):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(WORKER_TITLE):
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The environment of a client of a Ray head started here on 127.0.0.1 (3 logical CPUs: two
    workers and Ray Data's own tasks), with a token of its own; stopped afterwards."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Ray is not installed: `make install` installs the ray extra")
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    port = _free_port()
    token = secrets.token_hex(32)
    # Ray 2.60 turns token authentication on (its head listens on every interface); given in the
    # environment, the token is neither read from nor written to ~/.ray.
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token,
           "RAY_ADDRESS": f"127.0.0.1:{port}", "HF_HUB_OFFLINE": "1"}
    temp = Path(f"/tmp/tactics-ray-{port}")  # Ray's socket paths must stay short
    log = tmp_path_factory.mktemp("ray") / "head.log"
    head_env = {k: v for k, v in env.items() if k != "RAY_ADDRESS"}
    # --block keeps `ray start` in the foreground: stopping it stops exactly this cluster (a
    # plain `ray stop` would stop every Ray process of the user on the machine).
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--num-cpus", "3", "--include-dashboard", "false",
         "--disable-usage-stats", "--temp-dir", str(temp),
         "--object-store-memory", str(512 * 1024 * 1024)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=head_env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Ray head did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield env
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            # Ray's graceful stop takes half a minute; nothing of this cluster needs keeping.
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        for pid in _processes_with(token):  # a worker the head left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def tasks_20k(tmp_path_factory) -> Path:
    """20,000 rows made of 300 distinct task texts, repeated with other owners: each process
    encodes a text once (the vector cache), so the test pays for matching and moving 20,000
    rows, not for encoding 20,000 texts on 2 cores."""
    path = tmp_path_factory.mktemp("tasks") / "tasks.csv"
    base = list(generated_rows(300, seed=11))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "owner", "effort_hours", "due"])
        for number in range(20_000):
            task, _, effort, due = base[number % len(base)]
            writer.writerow([task, base[number * 7 % len(base)][1], effort, due])
    return path


def local_cli(*args: str | Path, env: dict[str, str] | None = None, input: str | None = None):
    """The command line without --ray, in this process (its model is loaded already)."""
    from typer.testing import CliRunner

    from classifier.cli import app

    return CliRunner().invoke(app, [str(arg) for arg in args], env=env, input=input)


@pytest.fixture(scope="module")
def local_20k(tasks_20k, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("local") / "out.csv"
    done = local_cli("classify", tasks_20k, "--plan", PLAN, "--out", out, "-q")
    assert done.exit_code == 0, done.output
    return out.read_bytes()


@pytest.mark.slow
@pytest.mark.ray
def test_the_same_bytes_as_the_local_run_even_when_a_worker_is_killed(ray_env, tasks_20k,
                                                                      local_20k, tmp_path):
    """One run pays for both checks (a Ray run costs half a minute on 2 cores): the output is
    the local run's, byte for byte, though a worker was killed mid-run and its block redone."""
    out = tmp_path / "out.csv"
    token = ray_env["RAY_AUTH_TOKEN"]
    killed: list[int] = []
    seen: set[int] = set()
    done_event = threading.Event()
    finished_before_kill: list[bool] = []

    def kill_one_once_results_come_in() -> None:
        # The driver writes results in input order: once the first block is written, both
        # workers are busy with later blocks (4 blocks of 5,000 rows, 2 workers).
        while not done_event.is_set():
            seen.update(_workers(token))
            written = [p for p in tmp_path.glob(".out.csv.*.partial") if p.stat().st_size > 0]
            if written and not killed:
                victims = _workers(token)
                if victims:
                    finished_before_kill.append(out.exists())
                    os.kill(victims[0], signal.SIGKILL)
                    killed.append(victims[0])
            time.sleep(0.2)

    watcher = threading.Thread(target=kill_one_once_results_come_in, daemon=True)
    watcher.start()
    try:
        done = tactics("classify", tasks_20k, "--plan", PLAN, "--out", out, "--ray",
                       env=ray_env)
    finally:
        done_event.set()
        watcher.join()
    assert killed, "no worker was killed"
    assert finished_before_kill == [False]
    assert done.returncode == 0, done.stderr
    assert seen - set(killed), "no worker"
    assert out.read_bytes() == local_20k
    said = done.stderr.strip().splitlines()
    assert said[-1].startswith("wrote 20000 rows to ")
    # Ray's message of the lost worker, when it comes before the run ends, is one line.
    assert {line for line in said if "warning" in line} <= {f"warning: {WORKER_LOST}"}
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and "core_worker" not in done.stderr


# What the raylet sends the driver when a worker dies (Ray 2.60, ids shortened).
WORKER_DIED = (
    "A worker died or was killed while executing a task by an unexpected system error. To "
    "troubleshoot the problem, check the logs for the dead worker. Lease ID: 0100 Worker ID: "
    "bcb4 Node ID: 9d95 Worker IP address: 127.0.0.1 Worker port: 34273 Worker PID: 22358 "
    "Worker exit type: SYSTEM_ERROR Worker exit detail: Worker unexpectedly exits with a "
    "connection error code 2. End of file. Some common causes include: (1) the process was "
    "killed by the OOM killer due to high memory usage, (2) ray stop --force was called, or (3) "
    "the worker crashed unexpectedly due to SIGSEGV or another unexpected error.")


@pytest.mark.slow
@pytest.mark.ray
def test_rays_message_of_a_lost_worker_is_one_line_on_stderr_and_none_on_stdout(ray_env):
    """Ray's thread printed the raylet's paragraph on a lost worker to stdout (where output
    may go) as the run went on; sent through the real cluster, it is one line on stderr."""
    code = f"""
import sys, threading
from classifier.distributed.cluster import cluster
heard = threading.Event()
def warn(line):
    print("warning: " + line, file=sys.stderr, flush=True)
    heard.set()
with cluster(1, warn):
    from ray._private import worker
    from ray._private.utils import publish_error_to_driver
    publish_error_to_driver("worker_died", {WORKER_DIED!r}, worker.global_worker.gcs_client)
    heard.wait(120)
print("done", file=sys.stderr)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=ray_env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"warning: {WORKER_LOST}\ndone\n"


def _opening(workbook: Path, *args: str | Path, env: dict[str, str]) -> tuple[int, str]:
    """The command line in a process that counts how often it opens WORKBOOK (Python's audit
    hook sees every open), and its stderr."""
    code = ("import sys\n"
            "opened = []\n"
            f"sys.addaudithook(lambda event, args: event == 'open' and str(args[0]) == "
            f"{str(workbook)!r} and opened.append(1))\n"
            "import atexit\n"  # the command ends with os._exit, once atexit's calls ran
            "atexit.register(lambda: print(f'opened {len(opened)}', file=sys.stderr))\n"
            "from classifier.cli import main\n"
            f"sys.argv = ['tactics', *{[str(arg) for arg in args]!r}]\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    said = done.stderr.strip().splitlines()
    count = next(line for line in said if line.startswith("opened "))
    return int(count.removeprefix("opened ")), "\n".join(line for line in said if line != count)


@pytest.mark.slow
@pytest.mark.ray
def test_a_workbook_is_read_as_often_on_ray_as_without_and_writes_the_same(ray_env, tmp_path):
    """Ray read a workbook twice (its blocks, then its rows beside the results): a sheet is
    read whole whatever its chunks, which took as long again; now as often as the local run."""
    workbook = tmp_path / "tasks.xlsx"
    frame = pd.DataFrame(list(generated_rows(300, seed=5)),
                         columns=["task", "owner", "effort_hours", "due"])
    frame.to_excel(workbook, index=False)
    local, said_local = _opening(workbook, "classify", workbook, "--plan", PLAN, "--out",
                                 tmp_path / "local.csv", "-q", env=ray_env)
    remote, said_remote = _opening(workbook, "classify", workbook, "--plan", PLAN, "--out",
                                   tmp_path / "ray.csv", "-q", "--ray", env=ray_env)
    assert remote == local
    assert said_remote.replace("ray.csv", "local.csv") == said_local
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def _children() -> dict[int, list[int]]:
    """Every process's children, by the parent's id."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    return children


def _command(pid: int) -> bytes:
    """A process's command line; empty once it ended (a zombie's too)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _started(pid: int) -> str | None:
    """When a process started (tells it from a later one of the same id); None once it ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in "ZX" else fields[19]


@pytest.mark.slow
@pytest.mark.ray
def test_a_local_cluster_dies_with_a_run_killed_with_kill_9(tasks_20k, tmp_path):
    """kill -9 of a run left Ray's two agents of its local cluster for a minute (they try to
    tell the dead head first); now every process of the cluster ends with the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    run = subprocess.Popen([str(BIN / "tactics"), "classify", str(tasks_20k), "--plan", str(PLAN),
                            "--out", str(tmp_path / "out.csv"), "--ray", "-q", "--workers", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=env | {"HF_HUB_OFFLINE": "1"})
    seen: dict[int, str | None] = {}  # the run's processes and its cluster's, when each started
    helpers: list[int] = []  # the run's own (not Ray's programs)
    try:
        while not any(_command(pid).startswith(WORKER_TITLE) for pid in seen):
            assert run.poll() is None, "the run ended before its worker started"
            children, parents = _children(), [run.pid]
            while parents:
                for child in children.get(parents.pop(), []):
                    if child not in seen:
                        seen[child] = _started(child)
                        command = _command(child)
                        if b"/ray/" not in command and not command.startswith(b"ray::"):
                            helpers.append(child)
                    parents.append(child)
            time.sleep(0.2)
        run.kill()
        run.wait()
        while any(_started(pid) == seen[pid] for pid in helpers):  # done with their part
            time.sleep(0.2)
        # A process whose command line is gone is past the point of no return (its memory freed).
        left = sorted(_command(pid).split(b"\0")[0].decode() for pid, started in seen.items()
                      if started is not None and _started(pid) == started and _command(pid))
        assert left == []
    finally:
        for pid, started in seen.items():
            if started is not None and _started(pid) == started:
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.ray
def test_a_bad_row_is_reported_as_without_ray(ray_env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    lines = [json.dumps({"task": task, "owner": owner}) for task, owner, _, _ in
             generated_rows(400, seed=3)]
    lines[299] = '{"task": "Call Bob about the'  # row 300: past what opening the file reads
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = local_cli("classify", bad, "--plan", PLAN, "--out", tmp_path / "a" / "out.csv", "-q")
    remote = tactics("classify", bad, "--plan", PLAN, "--out", tmp_path / "b" / "out.csv", "-q",
                     "--ray", env=ray_env)
    assert local.exit_code == remote.returncode == 2
    assert local.stderr.startswith(f"error: {bad}: row 300: not valid JSON")
    assert remote.stderr == local.stderr
    assert not any((tmp_path / "b").iterdir())  # nothing written, not even a partial file


@pytest.mark.slow
@pytest.mark.ray
def test_store_and_llm_work_the_same_on_ray(ray_env, scripted_llm, tmp_path, sample_plan,
                                            classifier):
    from classifier.model.work_text import work_text
    from classifier.store import Store

    # A store with review decisions, so both runs learn from it.
    seed = tmp_path / "seed.db"
    frame = classifier.classify_frame(
        pd.DataFrame({"task": ["Fix the coffee machine in the break room",
                               "Pitch the W-200 to Riverside Hardware"]}), "task")
    with Store(seed) as store:
        run = store.create_run(store.save_plan(sample_plan), frame, "task", "seed", "default",
                               classifier.thresholds)
        first = int(store.run_results(run)["row"].min())
        store.record_decision(run, first, "misaligned", None, "ana")
        store.record_decision(run, first + 1, "confirm", None, "ana")

    def asked(request) -> object:
        # The answer depends on the question only, as a model's would with temperature 0.
        return answer("none", f"Not a fit ({len(request.user_text)}).")

    scripted_llm.responder = asked
    env = {**ray_env, "TACTICS_LLM_BASE_URL": scripted_llm.base_url, "TACTICS_LLM_MODEL": "m"}
    outputs = {}
    for name in ("local", "ray"):
        db = tmp_path / f"{name}.db"
        shutil.copy(seed, db)
        out = tmp_path / f"{name}.jsonl"
        args = ["classify", ROOT / "data/tasks.csv", "--plan", PLAN, "--out", out, "-q",
                "--db", db, "--llm", "--llm-key-env", ""]
        if name == "ray":
            done = tactics(*args, "--ray", "--workers", "1", env=env)
            assert done.returncode == 0, done.stderr
        else:
            done = local_cli(*args, env={"TACTICS_LLM_BASE_URL": scripted_llm.base_url,
                                         "TACTICS_LLM_MODEL": "m"})
            assert done.exit_code == 0, done.output
        with Store(db) as store:
            latest = store.latest_run()
            assert latest is not None
            stored = store.run_results(latest.id)
            if name == "ray":  # the workers' vectors are kept too: a re-run needs no model
                read = {work_text(text) for text in pd.read_csv(ROOT / "data/tasks.csv")["task"]}
                kept = store.vectors_get(classifier.embedder.fingerprint, sorted(read),
                                         classifier.embedder.dimension)
                assert len(kept) == len(read)
        outputs[name] = (out.read_bytes(), done.stderr.splitlines()[-2:], stored)
    local, remote = outputs["local"], outputs["ray"]
    assert remote[0] == local[0]
    assert b'"llm_strategy_id": "none"' in remote[0]
    assert remote[1][0] == local[1][0].replace("local", "ray")  # wrote 108 rows ... run #2 in
    assert remote[1][1] == local[1][1]  # the same questions, asked once each
    assert len(remote[2]) == 108
    assert remote[2].drop(columns=["run_id"], errors="ignore").equals(
        local[2].drop(columns=["run_id"], errors="ignore"))


@pytest.mark.slow
@pytest.mark.ray
def test_many_files_in_and_parts_out(ray_env, tmp_path, embedder):
    """A folder of CSV files gives what the local run gives on them joined into one (and the
    store keeps the run and the workers' vectors); a glob of Parquet files gives CSV parts
    that, joined, are that same output."""
    from classifier.files.writer import unneutralised
    from classifier.model.reference import reference_texts
    from classifier.model.work_text import work_text
    from classifier.store import Store

    header = ["task", "owner", "effort_hours", "due"]
    rows = [list(row) for row in generated_rows(300, seed=5)]
    rows[7][0] = ""  # a blank task stays a row
    rows[8][0] = "=HYPERLINK(\"http://example.com\")"  # stays text, made safe in CSV
    # As this tool writes a formula-like task: read without its `'`, on Ray as locally.
    rows[9][0] = "'-Call the customers whose plan expires this month"
    folder = tmp_path / "csv"
    folder.mkdir()
    for part in range(3):
        with (folder / f"tasks-{part}.csv").open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows[part * 100:(part + 1) * 100]])
    joined = tmp_path / "joined.csv"
    with joined.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    local = local_cli("classify", joined, "--plan", PLAN, "--out", tmp_path / "local.csv", "-q")
    assert local.exit_code == 0, local.output

    one = tactics("classify", folder, "--plan", PLAN, "--out", tmp_path / "one.csv", "-q",
                  "--ray", "--workers", "1", "--db", tmp_path / "one.db", env=ray_env)
    assert one.returncode == 0, one.stderr
    kept = local_cli("classify", joined, "--plan", PLAN, "--out", tmp_path / "local-db.csv",
                     "-q", "--db", tmp_path / "local.db")  # a store adds the decision columns
    assert kept.exit_code == 0, kept.output
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "local-db.csv").read_bytes()
    with Store(tmp_path / "one.db") as store:  # the run, and every task's vector, kept
        assert len(store.run_results(store.latest_run().id)) == 300
        # ("1:1 with manager" is also generic work, whose vectors are cached apart)
        read = ({work_text(str(unneutralised(row[0]))) for row in rows if row[0]}
                - set(reference_texts()))
        assert len(store.vectors_get(embedder.fingerprint, sorted(read),
                                     embedder.dimension)) == len(read) > 200

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    # Parquet holds a task as it is (no `'` against formulas: that is a CSV writer's).
    plain_rows = [[unneutralised(cell) for cell in row] for row in rows]
    for part in range(3):
        pd.DataFrame(plain_rows[part * 100:(part + 1) * 100], columns=header).to_parquet(
            parquet / f"tasks-{part}.parquet", index=False)
    parts = tactics("classify", f"{parquet}/tasks-*.parquet", "--plan", PLAN, "--out",
                    tmp_path / "parts" / "*.csv", "-q", "--ray", "--workers", "1", env=ray_env)
    assert parts.returncode == 0, parts.stderr
    assert parts.stderr.startswith(f"wrote 300 rows to {tmp_path / 'parts'} (")
    names = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert names[0] == "part-000000.csv" and all(n.startswith("part-") for n in names)
    lines = (tmp_path / "local.csv").read_bytes().splitlines(keepends=True)
    joined_parts = [line for name in names
                    for line in (tmp_path / "parts" / name).read_bytes().splitlines(keepends=True)[1:]]
    assert joined_parts == lines[1:]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.slow
@pytest.mark.ray
def test_a_folder_of_semicolon_csv_files_reads_and_writes_as_the_local_run(ray_env, tmp_path):
    # Excel in most of Europe writes ";" into a .csv: Ray's reader refused the folder in its own
    # words, where the local reader reads such a file and writes ";" back.
    rows = ["Call customers whose service plan expires this month;Ana",
            "Repaint the break room;Bo", "Post the job opening for a machinist;Cy",
            "Pitch the welding line, to dealers;Di"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("task;owner\n" + "\n".join(rows[:2]) + "\n")
    (folder / "b.csv").write_text("task;owner\n" + "\n".join(rows[2:]) + "\n")
    joined = tmp_path / "joined.csv"
    joined.write_text("task;owner\n" + "\n".join(rows) + "\n")
    _folder_on_ray_writes_as_its_files_joined(folder, joined, tmp_path, ray_env)


@pytest.mark.slow
@pytest.mark.ray
def test_a_folder_of_csv_files_with_a_byte_order_mark_writes_one_as_the_local_run(ray_env,
                                                                                 tmp_path):
    # Excel's "CSV UTF-8" starts with a byte-order mark, and the local run writes a .csv with
    # one (Excel reads it as UTF-8 then): the folder on Ray wrote none.
    rows = ["Call customers whose service plan expires this month,Ana", "Repaint the café,Bo",
            "Post the job opening for a machinist,Cy"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("task,owner\n" + rows[0] + "\n", encoding="utf-8-sig")
    (folder / "b.csv").write_text("task,owner\n" + "\n".join(rows[1:]) + "\n",
                                  encoding="utf-8-sig")
    joined = tmp_path / "joined.csv"
    joined.write_text("task,owner\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    _folder_on_ray_writes_as_its_files_joined(folder, joined, tmp_path, ray_env)
    assert (tmp_path / "ray.csv").read_bytes().startswith(codecs.BOM_UTF8)


def test_a_folders_encoding_is_its_first_files_as_the_files_joined(tmp_path):
    from classifier.distributed.datasets import files_encoding

    marked, plain = tmp_path / "a.csv", tmp_path / "b.csv"
    marked.write_text("task\nCall the customers\n", encoding="utf-8-sig")
    plain.write_text("task\nRepaint the break room\n", encoding="utf-8")
    assert files_encoding([str(marked), str(plain)], "csv") == "utf-8-sig"
    assert files_encoding([str(plain), str(marked)], "csv") == "utf-8"
    assert files_encoding([str(marked)], "parquet") == "utf-8"


def _folder_on_ray_writes_as_its_files_joined(folder: Path, joined: Path, tmp_path: Path,
                                              ray_env) -> None:
    """The folder classified on Ray writes the same bytes as its files joined into one, locally."""
    local = local_cli("classify", joined, "--plan", PLAN, "--out", tmp_path / "local.csv", "-q")
    assert local.exit_code == 0, local.output
    done = tactics("classify", folder, "--plan", PLAN, "--out", tmp_path / "ray.csv", "-q",
                   "--ray", "--workers", "1", env=ray_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.ray
def test_a_boards_repeated_headers_are_no_tasks_on_ray_as_without(ray_env, tmp_path):
    # A Monday.com board: each group's title and the header again, above its rows.
    board = tmp_path / "board.csv"
    board.write_text("Widget Launch board,,\nThis week,,\nName,Person,Hours\n"
                     "Build a prototype of the compact widget,Aisha,5\n,,\nNext week,,\n"
                     "Name,Person,Hours\nWrite the launch plan for the heavy-duty widget,Aisha,3\n")
    local = local_cli("classify", board, "--plan", PLAN, "--out", tmp_path / "local.csv")
    assert local.exit_code == 0, local.output
    done = tactics("classify", board, "--plan", PLAN, "--out", tmp_path / "ray.csv", "--ray",
                   "--workers", "1", env=ray_env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    said = (f"warning: {board}: lines 6, 7 are the header again or a group's title above it, "
            f"not tasks: status empty, as a blank row")
    assert said in local.stderr.splitlines() and said in done.stderr.splitlines()


@pytest.mark.slow
@pytest.mark.ray
def test_a_lists_title_on_stdin_keeps_its_text_on_ray_as_without(ray_env, tmp_path):
    # Ray's pass rebuilds stdin's rows from the texts it classified, where the title is blank.
    pasted = ("My team's tasks this week:\n- Fix the login bug\n"
              "- Call the Tri-City retail buyer about shelf space\n")
    local = local_cli("classify", "-", "--plan", PLAN, "--out", tmp_path / "local.csv",
                      input=pasted)
    assert local.exit_code == 0, local.output
    done = subprocess.run([str(BIN / "tactics"), "classify", "-", "--plan", str(PLAN), "--out",
                           str(tmp_path / "ray.csv"), "--ray", "--workers", "1"],
                          input=pasted, capture_output=True, text=True, env=ray_env, timeout=900)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ray.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    with (tmp_path / "ray.csv").open(newline="", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert (first["task"], first["status"]) == ("My team's tasks this week:", "empty")


@pytest.mark.slow
@pytest.mark.ray
def test_a_folder_whose_files_differ_in_columns_keeps_every_column_as_text(ray_env, tmp_path):
    # A field added to the tracker since the first week's export: its column was dropped from
    # the output (only the first rows' columns were written) and its "007" read as the number
    # 7; a file lacking one of the first file's columns, in blocks of its own, crashed the run
    # ("Ray: KeyError: \"['owner'] not in index\"").
    from classifier.distributed.datasets import DATASET_BATCH_ROWS

    folder = tmp_path / "weeks"
    folder.mkdir()
    first = [["Call the customers whose plan expires", "Ana"], ["Repaint the break room", "Bo"]]
    added = [["Pitch the welding line to dealers", "Cy", "007"], ["Fix the coffee machine", "",
                                                                   "1e5"]]
    lacking = [[f"Post the job opening for a machinist, round {n % 7}"]
               for n in range(DATASET_BATCH_ROWS + 50)]
    tables = {"a.csv": (["task", "owner"], first), "b.csv": (["task", "owner", "code"], added),
              "c.csv": (["task"], lacking)}
    for name, (header, rows) in tables.items():
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
    joined = tmp_path / "joined.csv"
    with joined.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "owner", "code"])
        for _, rows in tables.values():
            writer.writerows(row + [""] * (3 - len(row)) for row in rows)
    _folder_on_ray_writes_as_its_files_joined(folder, joined, tmp_path, ray_env)
    parts = tactics("classify", folder, "--plan", PLAN, "--out", tmp_path / "parts" / "*.csv",
                    "-q", "--ray", "--workers", "1", env=ray_env)
    assert parts.returncode == 0, parts.stderr
    lines = (tmp_path / "local.csv").read_bytes().splitlines(keepends=True)
    for part in sorted((tmp_path / "parts").iterdir()):  # each part with every column
        assert part.read_bytes().splitlines(keepends=True)[0] == lines[0]


@pytest.mark.parametrize(("content", "says"), [
    (b'task,owner\n"Fix the line,Bo\nMore,x\n',
     "not a well-formed CSV table: line 2: a quote opened there is never closed"),
    (b"task,owner\nCaf\xe9 visit,Bo\n",
     "not UTF-8 (cp1252), the one encoding a folder read with --ray may have; convert it "
     "(iconv -f cp1252 -t utf-8), or classify it without --ray"),
    (b"task,owner\nFix the line\n",
     "Ray's CSV reader cannot read it (rows of fewer fields than the header, or bytes that are "
     "not UTF-8?); classify it without --ray to find the row"),
])
def test_a_folder_file_ray_cannot_read_is_said_in_the_projects_words(tmp_path, content, says):
    # Ray's reader names the file, not what is wrong with it: "Please check the CSV file has
    # correct format, or filter out non-CSV file with 'partition_filter' field. See read_csv()
    # documentation for more details."
    from classifier.distributed.datasets import read_failure
    from classifier.errors import TasksError

    bad = tmp_path / "b.csv"
    bad.write_bytes(content)
    raised = ValueError(f"Failed to read CSV file: {bad}. Please check the CSV file has correct "
                        f"format, or filter out non-CSV file with 'partition_filter' field. See "
                        f"read_csv() documentation for more details.")
    said = read_failure(raised, "csv")
    assert isinstance(said, TasksError) and str(said) == f"{bad}: {says}"


def test_a_killed_runs_staged_parts_are_removed_by_the_next_run(tmp_path):
    # kill -9 (or the OOM killer) mid-run left its hidden staging folder, every part written
    # so far in it, for good: a file output's leftover is removed by the next run, not this.
    from classifier.distributed.parts import prepare_parts_folder
    from classifier.files.atomic import partial_name

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path / "results"
    staged = tmp_path / f".results.tactics-{dead}.partial"
    staged.mkdir()
    (staged / "part-000000.csv").write_text("task\nCall the customers\n")
    running = tmp_path / f".results.tactics-{os.getppid()}.partial"  # a live run's
    running.mkdir()
    prepare_parts_folder(folder, {})
    assert not staged.exists() and running.is_dir()
    assert partial_name(folder) not in {staged.name, running.name}


def test_a_file_whose_name_has_brackets_is_that_file_not_a_pattern(tmp_path):
    # A tracker's export named with its date in brackets: with --ray, "no files".
    from classifier.distributed.datasets import dataset_files, is_dataset, is_dataset_run

    named = tmp_path / "Export [2026-11-30].csv"
    named.write_text("task\nCall the customers\n")
    (tmp_path / "Export 2.csv").write_text("task\nRepaint the break room\n")
    assert not is_dataset(str(named)) and not is_dataset_run(str(named), tmp_path / "out.csv")
    assert dataset_files(str(named)) == ([str(named)], "csv")
    assert dataset_files(str(tmp_path / "Export [0-9].csv")) == ([str(tmp_path / "Export 2.csv")],
                                                                  "csv")


def test_a_pattern_in_a_folder_whose_name_has_brackets_reads_that_folder(tmp_path,
                                                                           monkeypatch):
    # The folder of a month's exports, "Export [Nov]/*.csv": its name was read as a pattern
    # too (a character class), which matched no folder: "no files".
    from classifier.distributed.datasets import dataset_files

    folder = tmp_path / "Export [Nov]"
    folder.mkdir()
    files = [folder / "a.csv", folder / "b.csv"]
    for file in files:
        file.write_text("task\nCall the customers\n")
    assert dataset_files(str(folder / "*.csv")) == ([str(f) for f in files], "csv")
    monkeypatch.chdir(tmp_path)
    assert dataset_files("Export [Nov]/*.csv") == ([f"Export [Nov]/{f.name}" for f in files],
                                                   "csv")
    (tmp_path / "Export N").mkdir()  # a pattern still, where no folder is so named
    (tmp_path / "Export N" / "c.csv").write_text("task\nHire a machinist\n")
    assert dataset_files("Export [MN]/*.csv") == (["Export N/c.csv"], "csv")


def test_a_folder_file_without_the_text_column_is_refused_naming_it(tmp_path):
    # Its rows were read blank, each `empty`, with no word said (a run of small files), or the
    # run crashed in a worker on a KeyError (a file of a block or more).
    from classifier.distributed.datasets import files_columns, refuse_files_without
    from classifier.errors import TasksError

    (tmp_path / "a.csv").write_text("task,owner\nCall the customers,Ana\n")
    (tmp_path / "b.csv").write_text("\ufefftitle,who\nFix the line,Bo\n")
    (tmp_path / "c.csv").write_text("")
    files = [str(tmp_path / name) for name in ("a.csv", "b.csv")]
    headers = files_columns(files, "csv", ",")
    assert headers == {files[0]: ["task", "owner"], files[1]: ["title", "who"]}
    with pytest.raises(TasksError) as refused:
        refuse_files_without("task", headers)
    assert str(refused.value) == (f"{files[1]}: no column 'task', which holds the task text in "
                                  f"{files[0]}; its columns are: title, who; give the files one "
                                  f"header, or classify them one by one")
    with pytest.raises(TasksError, match="c.csv: the file is empty$"):
        files_columns([*files, str(tmp_path / "c.csv")], "csv", ",")


def test_a_folder_of_csv_files_has_the_separator_its_first_file_has(tmp_path):
    from classifier.distributed.datasets import files_separator

    (tmp_path / "a.csv").write_text("task;owner\nCall the customers, today;Ana\n")
    (tmp_path / "b.csv").write_text("task,owner\nCall,Ana\n")
    assert files_separator([str(tmp_path / "a.csv")], "csv") == ";"
    assert files_separator([str(tmp_path / "b.csv")], "csv") == ","
    assert files_separator([str(tmp_path / "a.csv")], "tsv") == "\t"


def test_a_folder_whose_csv_files_start_with_excels_separator_line_is_refused_naming_one(
        tmp_path):
    # Ray's reader took "sep=;" for the header: the column names were lost with it.
    from classifier.distributed.datasets import open_dataset
    from classifier.errors import TasksError

    (tmp_path / "a.csv").write_text("task;owner\nCall the customers;Ana\n")
    (tmp_path / "b.csv").write_text("sep=;\r\ntask;owner\r\nCall the customers;Ana\r\n")
    with pytest.raises(TasksError) as refused:
        open_dataset(None, str(tmp_path), None)  # type: ignore[arg-type]
    assert str(refused.value) == (f"{tmp_path / 'b.csv'}: starts with Excel's line 'sep=;', "
                                  f"which a folder read with --ray cannot skip; delete that line "
                                  f"from its files, or classify the files one by one")


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "tasks.csv").write_text("task\nCall the customers\nPitch our widgets\n")
    (folder / "week1.csv").write_text("task,status\nOld,aligned\n")
    return folder


@pytest.mark.parametrize(("tasks", "out", "says"), [
    # A folder of parts replaced the project folder: its tasks, plan, store and last week's
    # results were gone, exit 0.
    ("proj/tasks.csv", "proj", "proj: holds the tasks file (proj/tasks.csv)"),
    ("proj/tasks.csv", "other", None),  # a folder of someone's files: never replaced
    ("proj", "proj/*.csv", "proj: is the tasks folder (proj)"),
    ("proj", "proj/results", "proj/results: is inside the tasks folder (proj)"),
    # A glob's output file was one of its inputs, overwritten.
    ("proj/*.csv", "proj/week1.csv", "proj/week1.csv: is a tasks file"),
])
def test_a_ray_run_of_many_files_replaces_no_input_and_no_folder_of_others(
        tmp_path, monkeypatch, tasks, out, says):
    monkeypatch.chdir(tmp_path)
    _project(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    done = local_cli("classify", tasks, "--plan", PLAN, "--out", out, "--ray", "-q")
    assert done.exit_code == 2, done.output
    [line] = done.output.strip().splitlines()
    assert line.startswith("error: ") and (says or "holds files this tool did not write") in line
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_folder_of_files_is_read_from_one_text_column(tmp_path):
    # Ray Data's readers hand the workers their blocks as the files hold them: a folder's
    # tasks cannot be joined from several columns, and are refused before anything is read.
    from classifier.distributed.datasets import open_dataset
    from classifier.errors import TasksError

    with pytest.raises(TasksError, match="a folder of files is read from one text column; "
                                         "join 'Summary', 'Description' into one first"):
        open_dataset(None, str(tmp_path), ["Summary", "Description"])  # type: ignore[arg-type]


def test_ray_reports_nothing_home_and_a_local_head_is_guarded_by_a_token():
    # Offline by default: no usage report to Ray's makers (nor the metric queries behind it,
    # whose failure after a lost worker was logged below a run's last line).
    from classifier.distributed.cluster import ray_settings

    local, remote = ray_settings(local=True), ray_settings(local=False)
    assert local["RAY_USAGE_STATS_ENABLED"] == remote["RAY_USAGE_STATS_ENABLED"] == "0"
    assert local["RAY_AUTH_MODE"] == "token" and len(local["RAY_AUTH_TOKEN"]) == 64
    assert "RAY_AUTH_TOKEN" not in remote
    assert ray_settings(local=True)["RAY_AUTH_TOKEN"] != local["RAY_AUTH_TOKEN"]
