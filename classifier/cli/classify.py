"""`tactics classify`: a tasks file (or stdin, or with --ray many files) through the classifier
into one output file, written only when complete."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import PlanError
from .common import (
    Bars,
    ModelOption,
    PlanNameOption,
    PlanOption,
    TextColumnOption,
    app,
    keep_decisions,
    kept_files,
    open_store,
    run_command,
    say,
    store_file,
    warn,
)

if TYPE_CHECKING:
    from ..plan import Plan
    from ..store import Store


def _refuse_an_earlier_plan(store: Store, plan: Plan, name: str, path: Path) -> None:
    """PlanError when the plan file is an earlier version of the store's plan: the weekly job's
    copy, saved over on the Plan page since, would silently undo those edits."""
    found = store.saved_over(plan, name)
    if found is None:
        return
    held, newest = found
    raise PlanError(f"{path}: this is version {held.version} of plan {name!r} in "
                    f"{store.label}; version {newest.version} was saved since "
                    f"({newest.created_at:%Y-%m-%d %H:%M}, in the app or from another file). "
                    f"Classifying with the file would undo it: update the file (Plan page, "
                    f"Export the plan), or pass --replace-plan")


def _say_a_new_version(store: Store, plan: Plan, name: str, latest: tuple[int, Plan],
                       path: Path) -> None:
    """Warn, before it is saved, that the plan file replaces the store's latest version and
    what that changes: a file edited from an older copy undoes edits made since (on the Plan
    page, say), and a cron log is where that must show."""
    from ..plan import plan_changes

    changes = plan_changes(latest[1], plan)
    if not changes:
        return
    newest = store.plan_versions(name)[-1]
    warn(f"{path}: differs from version {newest.version} of plan {name!r} in {store.label} "
         f"({newest.created_at:%Y-%m-%d %H:%M}), and replaces it for this run and later ones: "
         f"{', '.join(changes)}")


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
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name, or number counted "
                                              "from 0 in the workbook's order (0 is the first "
                                              "sheet, 1 the second), hidden sheets included "
                                              "(default: the first shown sheet).")
                     ] = None,
    model: ModelOption = "default",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Ask an LLM about tasks in review or "
                                      "misaligned; adds llm_strategy_id and rationale.")] = False,
    llm_base_url: Annotated[str | None, typer.Option(
        "--llm-base-url", envvar="TACTICS_LLM_BASE_URL",
        help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1.")] = None,
    llm_model: Annotated[str | None, typer.Option(
        "--llm-model", envvar="TACTICS_LLM_MODEL", help="LLM model, e.g. llama3.1.")] = None,
    llm_key_env: Annotated[str | None, typer.Option(
        "--llm-key-env", show_default=False,
        help="Environment variable holding the API key (default: the one TACTICS_LLM_KEY_ENV "
        "names, else OPENAI_API_KEY); an unset variable, or '', means no key (a local "
        "server).")] = None,
    llm_concurrency: Annotated[int | None, typer.Option(
        "--llm-concurrency", min=1, max=64, show_default=False,
        help="LLM requests in flight (default 4, or TACTICS_LLM_CONCURRENCY); 1 for an "
        "account allowed a few requests a minute.")] = None,
    llm_timeout: Annotated[float | None, typer.Option(
        "--llm-timeout", min=0.1, show_default=False,
        help="Seconds an LLM reply may take before it is retried, then given up (default 30, "
        "or TACTICS_LLM_TIMEOUT); more for a big model on a CPU.")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", "--llm-cache", help="Store: a SQLite file (created when missing) or a "
        "database URL such as postgresql://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass): "
        "its review decisions teach the classifier, LLM answers are kept there, and the run is "
        "saved for the app.")] = None,
    plan_name: PlanNameOption = "default",
    history: Annotated[bool, typer.Option(
        "--history/--no-history", help="With --db: learn the team's wording from the plan's "
        "earlier runs in the store (their tasks, no decisions needed); the run records which."
        )] = True,
    ray: Annotated[bool, typer.Option("--ray", help="Classify on Ray: the cluster at "
                                      "RAY_ADDRESS, else a local one; same output.")] = False,
    workers: Annotated[int | None, typer.Option(help="With --ray: classifier workers (default: "
                                                "one per CPU of the cluster, less one).",
                                                show_default=False)] = None,
    replace_plan: Annotated[bool, typer.Option(
        "--replace-plan", help="With --db: classify with the plan file even where it is an "
        "earlier version of the store's plan (saved over since, on the Plan page say), which "
        "is refused without it.")] = False,
) -> None:
    """Classify every task and write it with its strategy, score and status.

    Example:

        tactics classify data/tasks.csv --plan data/plan.yaml --out results.csv
        RAY_ADDRESS=head:6379 tactics classify tasks.csv --plan plan.yaml --out out.csv --ray
    """
    from ..files.readers import open_tasks
    from ..files.writer import prepare_output
    from ..model.embedding import EmbedderSettings, get_embedder
    from ..model.history import describe_earlier
    from ..model.learned import Learned
    from ..model.learning import build_classifier
    from ..pipeline import Progress, StoreTarget, classify_file
    from ..plan import cut_texts, keep_earlier_ids, load_plan, with_what_a_table_lacks

    def action() -> None:
        from ..llm import Asker, llm_settings

        many = False  # with --ray: files Ray Data reads (a folder, a glob, Parquet) or parts
        if workers is not None and not ray:
            warn("--workers counts Ray's workers and is not used without --ray")
        if ray:
            from ..distributed import check_dataset_output, is_dataset_run, require_ray

            require_ray()  # without the extra: one line saying how to get it
            many = is_dataset_run(tasks, out)
        settings = (llm_settings(llm_base_url, llm_model, llm_key_env,
                                 max_concurrency=llm_concurrency, timeout=llm_timeout)
                    if llm else None)
        # Before anything is read: no input is ever replaced, nor a folder this tool did not
        # write (a folder of parts takes the folder's place).
        if many:
            check_dataset_output(tasks, out, kept_files(tasks, plan, db))
        else:
            prepare_output(out, kept_files(tasks, plan, db))
        plan_data = load_plan(plan)
        source = tasks if many else open_tasks(tasks, text_column=text_column, sheet=sheet,
                                               warn=warn)
        # A mistyped --db starts a store from nothing: the line that ends the run says so.
        new_store = (file := store_file(db)) is not None and not file.exists()
        with open_store(db) as store:
            if not many:
                keep_decisions(out, store, plan_name, plan, db, "the results")
            if store is not None:  # a strategy renamed in a file without ids keeps its id
                latest = store.latest_plan(plan_name)
                plan_data, notes = keep_earlier_ids(plan_data, latest[1] if latest else None,
                                                    store.past_strategies(plan_name))
                # A strategies table: the vision and cut-offs set on the Plan page stay.
                plan_data = with_what_a_table_lacks(plan_data, plan,
                                                    latest[1] if latest else None)
                for note in notes:
                    warn(f"{plan}: {note}")
                if latest is not None and not replace_plan:
                    _refuse_an_earlier_plan(store, plan_data, plan_name, plan)
                if latest is not None:
                    _say_a_new_version(store, plan_data, plan_name, latest, plan)
            learned = (Learned.from_frame(store.learned_examples(plan_name, plan_data))
                       if store is not None else None)
            earlier = (store.earlier_tasks(plan_name, plan_data) if store is not None and history
                       else None)
            classifier = build_classifier(plan_data, get_embedder(EmbedderSettings(model=model)),
                                          learned, vectors=store, earlier=earlier)
            embedder = classifier.embedder
            for line in cut_texts(plan_data, embedder.characters_read, embedder.max_tokens):
                warn(f"{plan}: {line}")
            keep = (StoreTarget(store, store.save_plan(plan_data, plan_name),
                                "stdin" if tasks == "-" else Path(tasks).name,
                                store.standing_by_text(plan_name, plan=plan_data))
                    if store is not None else None)
            bars = Bars(quiet, settings is not None)
            asker = Asker(settings, store) if settings is not None else None
            try:
                run = classify_file
                if ray:
                    from ..distributed import classify_on_ray

                    run = partial(classify_on_ray, workers=workers, text_column=text_column)
                summary = run(classifier, source, out, warn=warn, asker=asker, keep=keep,
                              progress=Progress(bars.rows, bars.answers, bars.total, bars.asking,
                                                bars.not_asked))
            finally:
                bars.close()
                if asker is not None:
                    asker.close()
        counts = ", ".join(f"{count} {status}" for status, count in
                           summary.status_counts.items() if count)
        rows = f"{summary.rows} row{'' if summary.rows == 1 else 's'}"
        # The store's label, not --db as typed: a URL's password is never printed.
        saved = (f"; saved as run #{summary.run_id} in {store.label}"
                 + (" (a new store)" if new_store else "")
                 if summary.run_id and store is not None else "")
        say(f"wrote {rows} to {summary.out or out} ({counts or 'no tasks'}){saved}")
        if learned_line := describe_earlier(classifier.earlier_use):
            say(learned_line)
        if summary.llm is not None:
            say(summary.llm.line())

    run_command(action)
