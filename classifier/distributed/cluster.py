"""The Ray cluster of a run: RAY_ADDRESS's, or a local one on 127.0.0.1 guarded by a token,
with Ray's banners, progress bars and thread tracebacks kept off our stderr, and its error
messages (a worker lost) said in one line each."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any

from ..errors import ClassifierError, ClusterError
from .runtime import first_line, import_ray


@dataclass
class Cluster:
    """The Ray cluster of a run: RAY_ADDRESS's, or a local one started for the run."""

    workers: int
    started: bool  # a local cluster this run started (and stops)
    address: str


def _quiet_ray(ray: ModuleType) -> None:
    """No Ray progress bars, execution banners or tracebacks on our stderr (its logs keep them)."""
    from ray.data import DataContext

    # Advice meant for pipeline authors ("increase override_num_blocks"), not for our users.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.data")
    for handler in logging.getLogger("ray.data").handlers:
        if type(handler).__name__ != "SessionFileHandler":
            handler.setLevel(logging.CRITICAL)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    context.execution_options.verbose_progress = False
    # Results come back in input order, whichever worker finishes first.
    context.execution_options.preserve_order = True
    # A ClassifierError raised in a worker reaches the driver as itself, not as Ray's wrapper.
    context.raise_original_map_exception = True


def ray_settings(local: bool) -> dict[str, str]:
    """The environment a run gives Ray where the user set none of it; `local`: a cluster this
    run starts."""
    settings = {"RAY_DATA_DISABLE_PROGRESS_BARS": "1",
                # Ray's C++ core writes below sys.stderr: a line for each actor pool ("constructor
                # arguments in the object store"), and for each worker lost; errors reach us anyway.
                "RAY_BACKEND_LOG_LEVEL": "fatal",
                # Offline by default: Ray would report usage to its makers every hour, and Ray
                # Data queries its metrics for that report; after a lost worker the query's failure
                # was logged to our stderr after the run's last line.
                "RAY_USAGE_STATS_ENABLED": "0"}
    if local:
        # A local head listens on every interface: a token of this run guards it. Ray reads it
        # when imported, and, given in the environment, writes nothing to ~/.ray.
        settings.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    return settings


@contextlib.contextmanager
def cluster(workers: int | None = None,
            warn: Callable[[str], None] | None = None) -> Iterator[Cluster]:
    """Connect to the cluster at RAY_ADDRESS, or start a local one on 127.0.0.1 for the block;
    `workers` defaults to one per CPU of the cluster, less one for Ray's own tasks; `warn`
    hears Ray's error messages (a worker lost), one line each."""
    if workers is not None and workers < 1:
        raise ClassifierError(f"--workers {workers}: give at least 1")
    address = os.environ.get("RAY_ADDRESS", "").strip()
    local = not address and "ray" not in sys.modules  # a cluster this run starts
    settings = ray_settings(local=local)
    with _environment({k: v for k, v in settings.items() if not os.environ.get(k)}), \
            _ray_threads_quiet(), _ray_errors_said(warn), _dies_with_the_run(local):
        ray = import_ray()
        ours = not ray.is_initialized()  # a caller's own connection is left as it was
        if ours:
            _init(ray, address, workers)
        try:
            _quiet_ray(ray)
            cpus = int(ray.cluster_resources().get("CPU", 1))
            yield Cluster(workers=workers or max(1, cpus - 1), started=ours and not address,
                          address=address or "local")
        finally:
            if ours:
                with contextlib.suppress(Exception):
                    ray.shutdown()


# A process of its own that notes, each second, the processes the run started (its cluster's);
# told "done" once the run stopped its cluster, it ends; else (the run was killed: kill -9, the
# OOM killer) it kills those it noted that are still there.
_WATCHDOG = """
import os, select, signal, sys, time
driver, me = os.getppid(), os.getpid()


def processes():  # every process: its parent, when it started, and whether it ended
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                table[int(name)] = (int(fields[1]), fields[19], fields[0] in "ZX")
            except (OSError, IndexError, ValueError):
                pass
    return table


noted = {}
while not select.select([sys.stdin], [], [], 1.0)[0]:
    table, parents = processes(), [driver]
    children = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    while parents:
        for child in children.get(parents.pop(), []):
            if child != me:
                noted[child] = table[child][1]
                parents.append(child)
if sys.stdin.read() != "done":
    for _ in range(300):
        table = processes()
        left = [pid for pid, started in noted.items()
                if pid in table and table[pid][1] == started and not table[pid][2]]
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
"""


@contextlib.contextmanager
def _dies_with_the_run(local: bool) -> Iterator[None]:
    """A local cluster the run starts dies with the run, even one killed with kill -9: Ray's
    head dies with its driver, but its two agents, though they see that at once, first try for
    60 s to tell the dead head (Ray 2.60's process_watcher)."""
    if not local or not os.path.isdir("/proc"):  # a cluster of others, or no /proc to read
        yield
        return
    # Ctrl-C in the terminal must not end it: the run then stops its cluster itself.
    watchdog = subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHDOG],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    assert watchdog.stdin is not None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            watchdog.stdin.write(b"done")
            watchdog.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            watchdog.wait(timeout=10)


def _init(ray: ModuleType, address: str, workers: int | None) -> None:
    """ray.init, quiet; its failure as one ClusterError line."""
    handler = signal.getsignal(signal.SIGTERM)
    quiet: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.ERROR,
                                 log_to_driver=False)
    try:
        with _stderr_silenced():  # the core's "Set ray log level" line, retries while it waits
            if address:
                ray.init(address=address, **quiet)
            else:
                local = workers or max(1, (os.cpu_count() or 1))
                # One CPU more than workers, for Ray Data's own small tasks beside the pool.
                ray.init(num_cpus=local + 1, _node_ip_address="127.0.0.1", **quiet)
    except Exception as error:
        where = f"at {address}" if address else "(a local one)"
        raise ClusterError(f"cannot start or reach the Ray cluster {where}: "
                           f"{first_line(error)}") from None
    finally:
        # ray.init installs its own SIGTERM handler; `kill` must still end the run cleanly.
        if handler is not None and signal.getsignal(signal.SIGTERM) is not handler:
            signal.signal(signal.SIGTERM, handler)


def _raised_in_ray_thread(trace: TracebackType | None) -> bool:
    """Whether a thread's exception came from a thread running Ray's code: the first frame past
    `threading` belongs to a `ray.` module. (The thread's `_target` cannot tell: `Thread.run`
    deletes it before the hook runs; seen as Ray Data's "completion-signaler" traceback.)"""
    while trace is not None:
        module = str(trace.tb_frame.f_globals.get("__name__", ""))
        if module != "threading":
            return module.startswith("ray.")
        trace = trace.tb_next
    return False


@contextlib.contextmanager
def _ray_threads_quiet() -> Iterator[None]:
    """Ray's own threads may end with a traceback when a run stops early (an error, Ctrl-C): the
    run reports its one line; the threads' stack traces stay out of our stderr."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if not _raised_in_ray_thread(args.exc_traceback):
            previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


# A worker lost (killed, out of memory) reaches the driver as Ray's paragraph about the dead
# worker and, before or after it, or alone, as a task "retried" where that worker was.
_WORKER_LOST = re.compile(r"A worker died or was killed|will be retried")
WORKER_LOST = ("Ray: a worker stopped mid-run (killed, or out of memory); its rows are "
               "classified again")


def ray_message(message: str) -> str:
    """One of Ray's error messages for the driver, as one line."""
    if _WORKER_LOST.search(message):
        return WORKER_LOST
    text = message.strip()
    return f"Ray: {text.splitlines()[0] if text else 'an error without a message'}"


@contextlib.contextmanager
def _ray_errors_said(warn: Callable[[str], None] | None) -> Iterator[None]:
    """Ray's error messages said through `warn` (else dropped; Ray's logs keep them), each
    once, in one line: a thread of Ray's printed them to stdout, where output may go, a
    paragraph for a lost worker. That thread looks the printer up in Ray's module at each
    message, so it is swapped there for the block (a private name: see the tests)."""
    try:
        import ray._private.worker as ray_worker
    except ImportError:  # no Ray: import_ray, next, says how to get it
        yield
        return
    printer = getattr(ray_worker, "print_to_stdstream", None)
    if printer is None:  # another Ray: its messages print as it prints them
        yield
        return
    said: set[str] = set()

    def say(data: dict[str, Any], ignore_prefix: bool) -> None:
        if data.get("pid") != "raylet":  # a worker's own output (log_to_driver), not an error
            printer(data, ignore_prefix)
            return
        for message in data.get("lines", []):
            line = ray_message(str(message))
            if warn is not None and line not in said:
                said.add(line)
                warn(line)

    ray_worker.print_to_stdstream = say
    try:
        yield
    finally:
        ray_worker.print_to_stdstream = printer


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set for the block, then put back as they were."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for the block (C++ code writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
