"""The `tactics` command: a thin layer over the library that turns its errors into one line."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from .errors import ClassifierError

if TYPE_CHECKING:
    from .model.decision import Scored
    from .model.engine import Classifier
    from .plan import Plan
    from .store import Store

T = TypeVar("T")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Match a team's tasks to the strategies of a plan.\n\n"
                       "Example:\n\n"
                       "    tactics classify data/tasks.csv --plan data/plan.yaml "
                       "--out results.csv")

PlanOption = Annotated[Path, typer.Option("--plan", "-p", help="Plan file (.yaml, .json or "
                                          "strategies .csv).", show_default=False)]
ModelOption = Annotated[str, typer.Option("--model", "-m", help="sentence-transformers name or "
                                          "local folder; 'default' is the bundled "
                                          "all-MiniLM-L6-v2.")]
TextColumnOption = Annotated[str | None, typer.Option("--text-column", "-c",
                                                      help="Column holding the task text.")]
LabelColumnOption = Annotated[str, typer.Option("--label-column",
                                                help="Column with the strategy id; empty "
                                                "means 'serves no strategy'.")]
PlanNameOption = Annotated[str, typer.Option("--plan-name", help="Name of the plan in the "
                                             "store.")]


def _warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    # One line, even when a library below wrote its reason over several.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _terminated(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(signum)


def _run(action: Callable[[], T]) -> T:
    """Run a command: library errors and interrupts become one line and an exit code."""
    previous = signal.signal(signal.SIGTERM, _terminated)  # SIGTERM behaves like Ctrl-C
    try:
        return action()
    except ClassifierError as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt as interrupt:
        code = 128 + (interrupt.args[0] if interrupt.args else signal.SIGINT)
        raise _fail("interrupted; no output was written", code) from None
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        raise _fail(f"{where}{error.strerror or error}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _open_store(db: Path | str | None) -> Iterator[Store | None]:
    if db is None:
        yield None
        return
    from .store import Store

    with Store(str(db) if "://" in str(db) else Path(db)) as store:
        yield store


class _Bars:
    """Progress on stderr: rows classified, and doubtful tasks answered by the LLM."""

    def __init__(self, quiet: bool, llm: bool):
        from tqdm import tqdm

        self._bars: list[Any] = []
        self.rows = self.answers = self.total = None
        if quiet:
            return
        # Shown after a second: a quick run (or a quick refusal) prints no bar at all.
        rows = tqdm(total=None, unit=" rows", file=sys.stderr, dynamic_ncols=True,
                    desc="classifying", smoothing=0.1, mininterval=0.5, delay=1.0)
        self._bars.append(rows)
        self.rows = rows.update

        def total(count: int) -> None:
            rows.total = count
            rows.refresh()

        self.total = total
        if llm:
            answers = tqdm(total=None, unit=" tasks", file=sys.stderr, dynamic_ncols=True,
                           desc="asking the LLM", mininterval=0.2, delay=1.0)
            self._bars.append(answers)
            self.answers = answers.update

    def close(self) -> None:
        for bar in self._bars:
            bar.close()


@app.command()
def classify(
    tasks: Annotated[str, typer.Argument(help="Tasks file (.csv .tsv .xlsx .jsonl .txt) or - "
                                         "for lines on stdin; with --ray also a folder, a "
                                         "glob or Parquet.", show_default=False)],
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv .tsv .xlsx "
                                      ".jsonl); written only when complete. With --ray also "
                                      "a folder of parts: results.parquet, 'results/*.csv'.",
                                      show_default=False)],
    text_column: TextColumnOption = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name or number (default: "
                                              "the first).")] = None,
    model: ModelOption = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Ask an LLM about tasks in review or "
                                      "misaligned; adds llm_strategy_id and rationale.")] = False,
    llm_base_url: Annotated[str | None, typer.Option(
        "--llm-base-url", envvar="TACTICS_LLM_BASE_URL",
        help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1.")] = None,
    llm_model: Annotated[str | None, typer.Option(
        "--llm-model", envvar="TACTICS_LLM_MODEL", help="LLM model, e.g. llama3.1.")] = None,
    llm_key_env: Annotated[str, typer.Option(
        "--llm-key-env", help="Environment variable holding the API key; unset means no key "
        "(a local server).")] = "OPENAI_API_KEY",
    db: Annotated[str | None, typer.Option(
        "--db", "--llm-cache", help="Store: a SQLite file (created when missing) or a "
        "database URL such as postgresql://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass): "
        "its review decisions teach the classifier, LLM answers are kept there, and the run is "
        "saved for the app.")] = None,
    plan_name: PlanNameOption = "default",
    ray: Annotated[bool, typer.Option("--ray", help="Classify on Ray: the cluster at "
                                      "RAY_ADDRESS, else a local one; same output.")] = False,
    workers: Annotated[int | None, typer.Option(help="With --ray: classifier workers (default: "
                                                "one per CPU of the cluster, less one).",
                                                show_default=False)] = None,
) -> None:
    """Classify every task and write it with its strategy, score and status.

    Example:

        tactics classify data/tasks.csv --plan data/plan.yaml --out results.csv
        RAY_ADDRESS=head:6379 tactics classify tasks.csv --plan plan.yaml --out out.csv --ray
    """
    from .files.readers import open_tasks
    from .files.writer import prepare_output
    from .model.embedding import EmbedderSettings, get_embedder
    from .model.learned import Learned
    from .model.learning import build_classifier
    from .pipeline import Progress, StoreTarget, classify_file
    from .plan import load_plan

    def action() -> None:
        from .llm import Asker, llm_settings

        many = False  # with --ray: files Ray Data reads (a folder, a glob, Parquet) or parts
        if ray:
            from .distributed import is_dataset_run, require_ray

            require_ray()  # without the extra: one line saying how to get it
            many = is_dataset_run(tasks, out)
        settings = llm_settings(llm_base_url, llm_model, llm_key_env) if llm else None
        protected = {} if tasks == "-" else {Path(tasks): "the tasks file"}
        if db is not None and "://" not in db:
            protected[Path(db)] = "the store"
        if not many:
            prepare_output(out, protected)  # before anything is read: the input never replaced
        plan_data = load_plan(plan)
        source = tasks if many else open_tasks(tasks, text_column=text_column, sheet=sheet,
                                               warn=_warn)
        with _open_store(db) as store:
            learned = (Learned.from_frame(store.learned_examples(plan_name))
                       if store is not None else None)
            classifier = build_classifier(plan_data, get_embedder(EmbedderSettings(model=model)),
                                          learned, vectors=store)
            keep = (StoreTarget(store, store.save_plan(plan_data, plan_name),
                                "stdin" if tasks == "-" else Path(tasks).name,
                                store.standing_by_text(plan_name))
                    if store is not None else None)
            bars = _Bars(quiet, settings is not None)
            asker = Asker(settings, store) if settings is not None else None
            try:
                run = classify_file
                if ray:
                    from .distributed import classify_on_ray

                    run = partial(classify_on_ray, workers=workers, text_column=text_column)
                summary = run(classifier, source, out, warn=_warn, asker=asker, keep=keep,
                              progress=Progress(bars.rows, bars.answers, bars.total))
            finally:
                bars.close()
                if asker is not None:
                    asker.close()
        counts = ", ".join(f"{count} {status}" for status, count in
                           summary.status_counts.items() if count)
        rows = f"{summary.rows} row{'' if summary.rows == 1 else 's'}"
        # The store's label, not --db as typed: a URL's password is never printed.
        saved = (f"; saved as run #{summary.run_id} in {store.label}"
                 if summary.run_id and store is not None else "")
        _say(f"wrote {rows} to {summary.out or out} ({counts or 'no tasks'}){saved}")
        if summary.llm is not None:
            _say(summary.llm.line())

    _run(action)


DbOption = Annotated[str, typer.Option(
    "--db", help="The store: a SQLite file or a database URL such as postgresql://USER@HOST/DB "
    "(never shown with its password).", show_default=False)]


def _existing_store(db: str) -> Store:
    from .store import Store

    if "://" not in db and not Path(db).exists():
        raise ClassifierError(f"{db}: store file not found; classify with --db {db} first")
    return Store(db if "://" in db else Path(db))


@app.command()
def queue(
    db: DbOption,
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Queue file (.csv or .xlsx) with an "
                                      "empty decision column.", show_default=False)],
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="At most this many tasks.")] = None,
    plan_name: PlanNameOption = "default",
    reviewer: Annotated[str | None, typer.Option(help="Put the tasks this reviewer skipped "
                                                 "last, as the Review page does.")] = None,
) -> None:
    """Write the next tasks to review, in the order the Review page deals them, with an empty
    `decision` column to fill: a strategy id, `none` (serves no strategy), or empty (skip).

    Example:

        tactics queue --db tactics.db --plan data/plan.yaml --limit 20 --out queue.xlsx
    """
    from .decisions_file import queue_table, write_queue
    from .model.learned import Learned
    from .plan import load_plan

    def action() -> None:
        plan_data = load_plan(plan)
        with _existing_store(db) as store:
            run = store.latest_run(plan_name)
            if run is None:
                raise ClassifierError(f"{store.label}: no run of plan {plan_name!r} yet; "
                                      f"classify with --db first")
            run_plan = store.plan(run.plan_version)
            if run_plan.strategies != plan_data.strategies:
                _warn(f"{plan}: differs from the plan run #{run.id} was classified against; "
                      f"the queue follows run #{run.id} (classify again to use the new plan)")
            learned = Learned.from_frame(store.learned_examples(plan_name))
            whole = queue_table(store, run, learned, reviewer=reviewer)
            table = whole.head(limit) if limit else whole
            write_queue(table, run_plan, out)
        _say(f"wrote {len(table)} task{'s' if len(table) != 1 else ''} to review to {out} "
             f"(run #{run.id}; {len(whole)} left in its queue)")

    _run(action)


@app.command()
def decide(
    file: Annotated[Path, typer.Argument(help="A queue file with its decision column filled.",
                                         show_default=False)],
    db: DbOption,
    plan: PlanOption,
    reviewer: Annotated[str, typer.Option(help="Who decided; kept with every decision.",
                                          show_default=False)],
    plan_name: PlanNameOption = "default",
) -> None:
    """Record a filled queue file's decisions in the store's audit trail, as the Review page
    would: all of them, or (one bad row named) none.

    Example:

        tactics decide queue.xlsx --db tactics.db --plan data/plan.yaml --reviewer ana
    """
    from .decisions_file import read_decisions, record
    from .plan import load_plan

    def action() -> None:
        load_plan(plan)
        if not reviewer.strip():
            raise ClassifierError("--reviewer: give the name of the person who decided")
        with _existing_store(db) as store:
            read = read_decisions(file, store, plan_name)
            counts = record(store, read, reviewer.strip())
        total = sum(counts.values())
        _say(f"recorded {total} decision{'s' if total != 1 else ''} by {reviewer.strip()}: "
             f"{counts['confirm']} confirmed, {counts['reassign']} reassigned, "
             f"{counts['misaligned']} serving no strategy; {read.skipped} rows left empty")

    _run(action)


@app.command()
def report(
    db: DbOption,
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report file: .html "
                                      "(self-contained), .xlsx or .csv.", show_default=False)],
    run: Annotated[int | None, typer.Option("--run", help="Run id (default: the latest of "
                                            "the plan).")] = None,
    plan_name: PlanNameOption = "default",
) -> None:
    """Write a run's report, the same the app downloads: .html (opens with no network), .xlsx
    (no live formula on any sheet) or .csv; decisions applied, trends over the plan's runs.

    Example:

        tactics report --db tactics.db --plan data/plan.yaml --out monday.html
    """
    from .files.writer import prepare_output
    from .plan import load_plan
    from .report.run_report import REPORT_TYPES, run_report, write_report

    def action() -> None:
        load_plan(plan)
        prepare_output(out, types=REPORT_TYPES)
        with _existing_store(db) as store:
            chosen = store.run(run) if run is not None else store.latest_run(plan_name)
            if chosen is None:
                raise ClassifierError(f"{store.label}: no run of plan {plan_name!r} yet; "
                                      f"classify with --db first")
            if chosen.plan_name != plan_name:
                raise ClassifierError(f"{store.label}: run #{chosen.id} is of plan "
                                      f"{chosen.plan_name!r}, not {plan_name!r}")
            made = run_report(store, chosen)
            write_report(made, out)
        _say(f"wrote the report on run #{chosen.id} ({made.summary.tasks} tasks, "
             f"{len(made.trends.periods)} runs in its trends) to {out}")

    _run(action)


def _classifier(plan: Plan, model: str) -> Classifier:
    from .model.embedding import EmbedderSettings, get_embedder
    from .model.engine import Classifier

    return Classifier(plan, get_embedder(EmbedderSettings(model=model)))


def _scored(labeled: str, plan_path: Path, label_column: str, text_column: str | None,
            model: str) -> tuple[Classifier, Scored]:
    from .files.readers import read_tasks
    from .model.decision import labels_from_column
    from .model.evaluation import score_labeled
    from .plan import load_plan

    plan = load_plan(plan_path)
    frame, column = read_tasks(labeled, text_column=text_column, warn=_warn)
    if label_column not in frame.columns:
        raise ClassifierError(f"{labeled}: no label column {label_column!r}; columns are: "
                              f"{', '.join(frame.columns)}; pass --label-column NAME")
    classifier = _classifier(plan, model)
    labels = labels_from_column(frame[label_column].tolist())
    return classifier, score_labeled(classifier, frame[column].tolist(), labels, source=labeled)


@app.command()
def evaluate(
    labeled: Annotated[str, typer.Argument(help="Tasks with a label column.",
                                           show_default=False)],
    plan: PlanOption,
    label_column: LabelColumnOption = "label",
    text_column: TextColumnOption = None,
    model: ModelOption = "default",
) -> None:
    """Print accuracy, misaligned precision/recall/F1 and AUROC as JSON.

    Example:

        tactics evaluate data/labeled.csv --plan data/plan.yaml
    """
    from .model.evaluation import metrics

    def action() -> None:
        classifier, scored = _scored(labeled, plan, label_column, text_column, model)
        typer.echo(json.dumps(metrics(scored, classifier.thresholds), indent=2))

    _run(action)


@app.command()
def calibrate(
    labeled: Annotated[str, typer.Argument(help="Tasks with a label column.",
                                           show_default=False)],
    plan: PlanOption,
    label_column: LabelColumnOption = "label",
    text_column: TextColumnOption = None,
    model: ModelOption = "default",
) -> None:
    """Fit the thresholds on labeled tasks and write them into the plan file (its comments and
    key order are kept).

    Example:

        tactics calibrate data/labeled.csv --plan data/plan.yaml
    """
    from .model.decision import calibrate as fit
    from .model.evaluation import metrics
    from .plan import save_plan

    def action() -> None:
        if plan.suffix.lower() == ".csv":
            raise ClassifierError(f"{plan}: a strategies CSV cannot hold thresholds; "
                                  f"save the plan as YAML first")
        classifier, scored = _scored(labeled, plan, label_column, text_column, model)
        before = metrics(scored, classifier.thresholds)
        thresholds = fit(scored, classifier.thresholds,
                         fitted_on=f"{Path(labeled).name}, {len(scored.gold)} rows, "
                                   f"model {model}")
        after = metrics(scored, thresholds)
        updated = classifier.plan.model_copy(update={"thresholds": thresholds})
        save_plan(updated, plan)
        typer.echo(json.dumps({"thresholds": thresholds.model_dump(exclude_none=True),
                               "before": _headline(before), "after": _headline(after)},
                              indent=2))
        _say(f"wrote thresholds to {plan}")

    _run(action)


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("top1_accuracy", "decision_accuracy", "misaligned_f1", "status_counts")
    return {key: result[key] for key in keys}


def main() -> None:
    """Entry point for `python -m classifier`."""
    app(prog_name="tactics")


if __name__ == "__main__":  # pragma: no cover
    main()
