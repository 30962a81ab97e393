"""What every `tactics` command shares: the app, its options, one-line errors, progress bars
and the store."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from ..errors import ClassifierError

if TYPE_CHECKING:
    from ..store import Store

T = TypeVar("T")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Match a team's tasks to the strategies of a plan.\n\n"
                       "Example:\n\n"
                       "    tactics classify data/tasks.csv --plan data/plan.yaml "
                       "--out results.csv")

PlanOption = Annotated[Path, typer.Option("--plan", "-p", help="Plan file (.yaml, .json, or a "
                                          "strategies table .csv or .xlsx).",
                                          show_default=False)]
ModelOption = Annotated[str, typer.Option("--model", "-m", help="sentence-transformers name or "
                                          "local folder; 'default' is the bundled "
                                          "all-MiniLM-L6-v2.")]
TextColumnOption = Annotated[list[str] | None, typer.Option(
    "--text-column", "-c", help="Column holding the task text; give it again to join more "
    "(-c Summary -c Description: each task read as its summary, then its description).")]
LabelColumnOption = Annotated[str, typer.Option("--label-column",
                                                help="Column with the strategy id or name; "
                                                "empty or 'none' means 'serves no strategy'.")]
PlanNameOption = Annotated[str, typer.Option("--plan-name", help="Name of the plan in the "
                                             "store.")]

SepOption = Annotated[str, typer.Option(
    "--sep", help="Separator of a .csv output: ',' or ';' (Excel where the decimal mark is a "
    "comma, as in most of Europe, opens a ',' file as one column).")]


# The largest whole number a store's ids and counts hold (SQL's BIGINT).
LARGEST = 2**63 - 1

DbOption = Annotated[str, typer.Option(
    "--db", help="The store: a SQLite file or a database URL such as postgresql://USER@HOST/DB "
    "(never shown with its password).", show_default=False)]


def store_file(db: str | Path | None) -> Path | None:
    """The SQLite file a --db names (as a path or a sqlite:/// URL); None for no --db, or a
    database server's URL."""
    if db is None:
        return None
    from ..store.database import is_url, sqlite_file

    return sqlite_file(str(db)) if is_url(str(db)) else Path(db)


def kept_files(tasks: str | None, plan: str | Path, db: str | None) -> dict[Path, str]:
    """The files a command reads, which no output of it may replace."""
    kept = {Path(plan): "the plan"}
    if tasks is not None and tasks != "-":
        kept[Path(tasks)] = "the tasks file"
    if (file := store_file(db)) is not None:
        kept[file] = "the store"
    return kept


def keep_decisions(out: Path, store: Store | None, plan_name: str, plan: str | Path,
                   db: str | None, what: str) -> None:
    """ClassifierError if OUT is a queue file holding decisions the store does not hold yet
    (without a store, any filled one): `what` (the queue, the report...) goes elsewhere."""
    from ..decisions_file import unrecorded
    from ..store.database import is_url, safe_url

    waiting = unrecorded(out, store, plan_name)
    if waiting:
        shown = safe_url(db) if db and is_url(db) else db  # a URL's password: never printed
        raise ClassifierError(
            f"{out}: holds {waiting} review decision{'s' if waiting != 1 else ''} not recorded "
            f"yet; record them first (tactics decide {out} --db {shown or 'STORE'} --plan "
            f"{plan} --reviewer NAME), or write {what} to another file")


def warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def say(message: str) -> None:
    typer.echo(message, err=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    # One line, even when a library below wrote its reason over several.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


# How a Unix tool ends when the reader of its output goes away (`| head`): 128 + SIGPIPE.
PIPE_CLOSED = 128 + getattr(signal, "SIGPIPE", 13)


def leave_stdout() -> None:
    """Point stdout at the null device once its reader went away, so the interpreter's last
    flush does not fail again (the recipe of Python's `signal` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout with no file behind it (a test's capture)
        pass


_signalled: list[int] = []  # the signals received during the running command


def _interrupted(signum: int, _frame: object) -> NoReturn:
    _signalled.append(signum)
    raise KeyboardInterrupt(signum)


def run_command(action: Callable[[], T]) -> T:
    """Run a command: library errors and interrupts become one line and an exit code."""
    _signalled.clear()
    # SIGTERM behaves like Ctrl-C; both are remembered, as a library may turn the
    # KeyboardInterrupt into an error of its own (pandas: "Calling read(nbytes) on source
    # failed"), which must not read as bad input.
    previous = {sent: signal.signal(sent, _interrupted)
                for sent in (signal.SIGINT, signal.SIGTERM)}
    try:
        return action()
    except KeyboardInterrupt as interrupt:
        code = 128 + (interrupt.args[0] if interrupt.args else signal.SIGINT)
        raise fail("interrupted; no output was written", code) from None
    except BrokenPipeError:
        # The reader of stdout is gone (`tactics runs | head -1`): not bad input, nothing to say.
        leave_stdout()
        raise SystemExit(PIPE_CLOSED) from None
    except (ClassifierError, OSError) as error:
        if _signalled:
            raise fail("interrupted; no output was written", 128 + _signalled[-1]) from None
        if isinstance(error, ClassifierError):
            raise fail(str(error)) from None
        where = f"{error.filename}: " if error.filename else ""
        raise fail(f"{where}{error.strerror or error}") from None
    finally:
        for sent, handler in previous.items():
            signal.signal(sent, handler)


@contextmanager
def open_store(db: Path | str | None) -> Iterator[Store | None]:
    if db is None:
        yield None
        return
    from ..store import Store

    with Store(str(db)) as store:  # a sqlite:/// URL's options (?mode=ro) kept
        if store.notice:
            warn(store.notice)
        yield store


class Bars:
    """Progress on stderr: rows classified, and doubtful tasks answered by the LLM."""

    def __init__(self, quiet: bool, llm: bool):
        from tqdm import tqdm

        self._bars: list[Any] = []
        self._terminal = True
        self.rows = self.answers = self.total = self.asking = self.not_asked = None
        if quiet:
            return
        # Shown after a second: a quick run (or a quick refusal) prints no bar at all. Into a
        # log (cron's, a CI job's) every redraw is a line: one a minute says enough there.
        terminal = self._terminal = sys.stderr.isatty()
        rows = tqdm(total=None, unit=" rows", file=sys.stderr, dynamic_ncols=True,
                    desc="classifying", smoothing=0.1, mininterval=0.5 if terminal else 60.0,
                    delay=1.0)
        self._bars.append(rows)
        self.rows = rows.update

        def total(count: int) -> None:
            # No refresh: the next rows draw it (a run under a second printed its bar anyway).
            rows.total = count

        self.total = total
        if llm:
            answers = tqdm(total=None, unit=" tasks", file=sys.stderr, dynamic_ncols=True,
                           desc="asking the LLM", mininterval=0.2 if terminal else 60.0,
                           delay=1.0)
            self._bars.append(answers)
            self.answers = answers.update

            def asking(count: int) -> None:  # known a chunk at a time: the total grows
                # No refresh: the next answer draws it, so a quick refusal prints no bar.
                answers.total = (answers.total or 0) + count

            left = [0]

            def not_asked(count: int) -> None:
                # The bar ends at the tasks asked: a full bar would say all were.
                left[0] += count
                answers.set_postfix_str(f"gave up: {left[0]} not asked", refresh=False)

            self.asking = asking
            self.not_asked = not_asked

    def close(self) -> None:
        for bar in self._bars:
            # In a log, a bar past its second of delay ends on its last count (between its
            # lines a minute apart, a run of a few minutes would say nothing of where it got).
            shown = bar.last_print_n > 0  # (then closing draws its last count itself)
            if (not self._terminal and bar.n and not shown
                    and bar.format_dict["elapsed"] >= bar.delay):
                sys.stderr.write(f"{bar}\n")
            bar.close()


def existing_store(db: str) -> Store:
    from ..store import Store

    file = store_file(db)
    if file is not None and not file.exists():
        raise ClassifierError(f"{db}: store file not found; classify with --db {db} first")
    store = Store(db)
    if store.notice:
        warn(store.notice)
    return store
