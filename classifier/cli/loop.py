"""The weekly loop over a store without the app: `tactics queue` (the next tasks to review),
`tactics decide` (a filled queue's decisions recorded) and `tactics report`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import ClassifierError
from .common import (
    LARGEST,
    DbOption,
    PlanNameOption,
    PlanOption,
    SepOption,
    app,
    existing_store,
    keep_decisions,
    kept_files,
    run_command,
    say,
    warn,
)

if TYPE_CHECKING:
    from ..plan import Plan
    from ..store import Store


@app.command(short_help="Write the next tasks to review, with a decision column to fill.")
def queue(
    db: DbOption,
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Queue file (.csv or .xlsx) with an "
                                      "empty decision column.", show_default=False)],
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, max=LARGEST,
                                              help="At most this many tasks.")] = None,
    plan_name: PlanNameOption = "default",
    reviewer: Annotated[str | None, typer.Option(help="Put the tasks this reviewer skipped "
                                                 "last, as the Review page does.")] = None,
    aligned: Annotated[bool, typer.Option("--aligned", help="The aligned tasks instead, the "
                                          "least sure of each strategy first: a spot check "
                                          "once the queue is empty.")] = False,
    sep: SepOption = ",",
) -> None:
    """Write the next tasks to review, in the order the Review page deals them (a new plan's
    teach-in round of about 20 tasks first), with an empty `decision` column to fill: a strategy
    id or name, `none` (serves no strategy), or empty (skip).

    Example:

        tactics queue --db tactics.db --plan data/plan.yaml --limit 20 --out queue.xlsx
    """
    from ..decisions_file import QUEUE_TYPES, next_tasks, queue_table, write_queue
    from ..files.writer import csv_separator, prepare_output
    from ..plan import load_plan
    from ..review import teach_in_goal

    def action() -> None:
        prepare_output(out, kept_files(None, plan, db), types=QUEUE_TYPES)
        csv_separator(sep, out)
        plan_data = load_plan(plan)
        with existing_store(db) as store:
            keep_decisions(out, store, plan_name, plan, db, "the queue")
            run = store.latest_run(plan_name)
            if run is None:
                raise ClassifierError(f"{store.label}: no run of plan {plan_name!r} yet; "
                                      f"classify with --db first")
            run_plan = store.plan(run.plan_version)
            _differs(plan, plan_data, run.id, run_plan, "the queue follows", store, plan_name)
            dealt = next_tasks(store, run, plan_name, reviewer=reviewer, aligned=aligned)
            table = queue_table(dealt, run, limit)
            write_queue(table, run_plan, out, warn=warn, dates=run.date_columns, separator=sep)
        tasks = f"{len(table)} {'aligned ' if aligned else ''}task{'s' if len(table) != 1 else ''}"
        if dealt.teach_in:
            say(f"wrote {tasks} of the teach-in round to {out} (run #{run.id}; "
                f"{len(dealt.tasks)} left in it, {dealt.taught} of "
                f"{teach_in_goal(dealt.taught, len(dealt.tasks))} taught): a new "
                f"plan's first decisions, picked to cover every strategy and the borderline; "
                f"the queue follows")
        else:
            say(f"wrote {tasks} to {'check' if aligned else 'review'} to {out} (run #{run.id}; "
                f"{len(dealt.tasks)} left in its {'spot check' if aligned else 'queue'})")

    run_command(action)


def _differs(path: Path, given: Plan, run_id: int, run_plan: Plan, what: str,
             store: Store, plan_name: str) -> None:
    """Warn when the plan file is not the plan a run was classified against: `what` (the
    queue follows, the report shows...) is the run's."""
    from ..plan import keep_earlier_ids, with_what_a_table_lacks

    given = keep_earlier_ids(given, run_plan)[0]
    if run_plan.strategies == given.strategies:
        return
    latest = store.latest_plan(plan_name)
    found = store.saved_over(with_what_a_table_lacks(given, path, latest and latest[1]),
                             plan_name)
    if found is not None:
        # `classify` refuses such a file: "classify again" would be advice it cannot take.
        warn(f"{path}: differs from the plan run #{run_id} was classified against; {what} "
             f"run #{run_id}'s. The file is version {found[0].version} of the store's plan, "
             f"saved over since: update it (Plan page, Export the plan)")
        return
    warn(f"{path}: differs from the plan run #{run_id} was classified against; {what} "
         f"run #{run_id}'s (classify again to use the new plan)")


@app.command(short_help="Record a filled queue file's decisions in the store.")
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
    from ..access import typed_reviewer
    from ..decisions_file import read_decisions, record
    from ..plan import load_plan

    def action() -> None:
        given = load_plan(plan)
        name = typed_reviewer(reviewer)
        with existing_store(db) as store:
            read = read_decisions(file, store, plan_name, given, warn)
            for run_id in sorted({request.run_id for request in read.requests}):
                _differs(plan, given, run_id, store.plan(store.run(run_id).plan_version),
                         "its decisions are read against", store, plan_name)
            counts = record(store, read, name)
        total = counts["confirm"] + counts["reassign"] + counts["misaligned"]
        since = (f" ({counts['since']} decided otherwise since, which stands)"
                 if counts["since"] else "")
        already = (f"; {counts['already']} already recorded as {name}'s decision{since}"
                   if counts["already"] else "")
        others = (f"; {counts['others']} decided otherwise by somebody else since the file "
                  f"was written, which stand{'s' if counts['others'] == 1 else ''} (change "
                  f"them on the Review page)" if counts["others"] else "")
        replaced = (f"; {counts['replaced']} of them replace{'s' if counts['replaced'] == 1 else ''} "
                    f"a colleague's decision on a strategy the plan no longer has"
                    if counts["replaced"] else "")
        say(f"recorded {total} decision{'s' if total != 1 else ''} by {name}: "
            f"{counts['confirm']} confirmed, {counts['reassign']} reassigned, "
            f"{counts['misaligned']} serving no strategy{replaced}{already}{others}; "
            f"{read.skipped} row{'s' if read.skipped != 1 else ''} left empty")

    run_command(action)


@app.command(short_help="Write a run's report (.html, .xlsx or .csv), as the app downloads it.")
def report(
    db: DbOption,
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report file: .html "
                                      "(self-contained), .xlsx or .csv.", show_default=False)],
    run: Annotated[int | None, typer.Option("--run", min=1, max=LARGEST,
                                            help="Run id (default: the latest of the "
                                            "plan).")] = None,
    plan_name: PlanNameOption = "default",
    sep: SepOption = ",",
) -> None:
    """Write a run's report, the same the app downloads: .html (opens with no network), .xlsx
    (no live formula on any sheet) or .csv; decisions applied, trends over the plan's runs.

    Example:

        tactics report --db tactics.db --plan data/plan.yaml --out monday.html
    """
    from ..files.writer import csv_separator
    from ..plan import load_plan
    from ..report.run_report import report_output, run_report, write_report
    from ..report.summary import task_count

    def action() -> None:
        given = load_plan(plan)
        target = report_output(out, kept_files(None, plan, db))  # before anything is built
        csv_separator(sep, out)
        with existing_store(db) as store:
            keep_decisions(out, store, plan_name, plan, db, "the report")
            chosen = store.run(run) if run is not None else store.latest_run(plan_name)
            if chosen is None:
                raise ClassifierError(f"{store.label}: no run of plan {plan_name!r} yet; "
                                      f"classify with --db first")
            if chosen.plan_name != plan_name:
                raise ClassifierError(f"{store.label}: run #{chosen.id} is of plan "
                                      f"{chosen.plan_name!r}, not {plan_name!r}")
            made = run_report(store, chosen)
            _differs(plan, given, chosen.id, made.plan, "the report shows", store, plan_name)
            write_report(made, target, warn=warn, separator=sep)
        periods = len(made.trends.periods)
        say(f"wrote the report on run #{chosen.id} ({task_count(made.summary.tasks)}, "
            f"{periods} run{'' if periods == 1 else 's'} in its trends) to {out}")

    run_command(action)


@app.command(short_help="List the runs in a store, newest first.")
def runs(
    db: DbOption,
    plan_name: PlanNameOption = "default",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=LARGEST,
                                       help="At most this many runs.")]
    = 20,
) -> None:
    """List a plan's runs in the store, newest first: the id that `tactics report --run` takes,
    when it was made, against which plan version, its tasks and the machine's statuses, and
    where its tasks came from.

    Example:

        tactics runs --db tactics.db
    """
    from ..report.summary import runs_table

    def action() -> None:
        with existing_store(db) as store:
            table = runs_table(store.runs(limit=limit, plan_name=plan_name))
            aside = store.set_aside_runs(plan_name)
            label = store.label  # never the password of a database URL
        if aside:
            say(f"set aside (not listed; the app's Classify page brings them back): "
                f"{', '.join(f'#{run.id}' for run in aside)}")
        if table.empty:
            say(f"no run of plan {plan_name!r} in {label} yet; classify with --db first")
            return
        width = int(table["source"].str.len().max())
        text = table.to_string(index=False, justify="left",
                               formatters={"source": lambda cell: f"{cell:<{width}}"})
        typer.echo("\n".join(line.rstrip() for line in text.splitlines()))
        # classify's closing line and the app count people's decisions in; counting them here
        # would read every run's rows, so the table says whose statuses it shows.
        say("aligned, review, misaligned: the machine's own answers; `tactics report --run ID` "
            "counts people's decisions in, as classify and the app do")

    run_command(action)
