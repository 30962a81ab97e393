"""The `tactics` command: a thin layer over the library that turns its errors into one line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ClassifierError
from .plan import Plan

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


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    # One line, even when a library below wrote its reason over several.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _classifier(plan: Path | Plan, model: str, learned=None):
    from .embedding import EmbedderSettings, get_embedder
    from .engine import Classifier
    from .plan import load_plan

    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    return Classifier(plan, get_embedder(EmbedderSettings(model=model)), learned=learned)


def _learned(db: Path | None, plan_name: str):
    """What the store at `db` has learned from review decisions on this plan, if a store is named."""
    if db is None:
        return None
    from .learning import load_learned
    from .store import Store

    if not db.exists():
        raise ClassifierError(f"{db}: store file not found (it holds review decisions; "
                              f"leave --db out to classify without them)")
    with Store(db) as store:
        return load_learned(store, plan_name)


def _run(action):
    try:
        return action()
    except ClassifierError as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; no output was written", 130) from None


@app.command()
def classify(
    tasks: Annotated[str, typer.Argument(help="Tasks file (.csv .tsv .xlsx .jsonl .txt) or - "
                                         "for lines on stdin.", show_default=False)],
    plan: PlanOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv .tsv .xlsx "
                                      ".jsonl); written only when complete.",
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
    llm_cache: Annotated[Path | None, typer.Option(
        "--llm-cache", envvar="TACTICS_DB", help="Store file that keeps LLM answers (and token "
        "counts) across runs; without it answers are reused within this run only.")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help="Store file whose review decisions teach the classifier (examples, "
        "no-strategy examples, thresholds).")] = None,
    plan_name: Annotated[str, typer.Option(
        "--plan-name", help="Name of the plan in the store (with --db).")] = "default",
) -> None:
    """Classify every task and write it with its strategy, score and status.

    Example:

        tactics classify data/tasks.csv --plan data/plan.yaml --out results.csv
    """
    from .plan import load_plan
    from .tasks import open_tasks, prepare_output

    def action():
        from .llm import llm_settings

        settings = llm_settings(llm_base_url, llm_model, llm_key_env) if llm else None
        prepare_output(out)
        # Inputs are checked before the model loads, so a bad file fails at once.
        plan_data = load_plan(plan)
        source = open_tasks(tasks, text_column=text_column, sheet=sheet, warn=_warn)
        classifier = _classifier(plan_data, model, _learned(db, plan_name))
        # With --llm the classification is staged beside OUT and moved there only once the
        # LLM pass is done too, so OUT is never a half-finished file.
        target = out.with_name(f".{out.stem}.staging{out.suffix}") if settings else out
        try:
            summary = classifier.classify_file(source, target, progress=not quiet, warn=_warn)
            if settings is not None:
                _ask_llm(classifier, settings, target, source.text_column, summary, quiet,
                         llm_cache)
                os.replace(target, out)
        finally:
            if target != out:
                target.unlink(missing_ok=True)
        counts = ", ".join(f"{count} {status}" for status, count in
                           summary.status_counts.items() if count)
        rows = f"{summary.rows} row{'' if summary.rows == 1 else 's'}"
        typer.echo(f"wrote {rows} to {out} ({counts or 'no tasks'})", err=True)

    _run(action)


def _ask_llm(classifier, settings, out: Path, text_column: str, summary, quiet: bool,
             cache_path: Path | None) -> None:
    from contextlib import nullcontext

    from tqdm import tqdm

    from .llm import ASKED_STATUSES, annotate_file
    from .store import Store

    total = sum(summary.status_counts.get(status, 0) for status in ASKED_STATUSES)
    bar = None if quiet else tqdm(total=total, unit=" tasks", desc="asking the LLM",
                                  file=sys.stderr, dynamic_ncols=True)
    try:
        with Store(cache_path) if cache_path else nullcontext() as cache:
            done = annotate_file(out, text_column, classifier, settings, cache=cache,
                                 progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    typer.echo(done.usage.line(), err=True)


def _scored(labeled: str, plan_path: Path, label_column: str, text_column: str | None,
            model: str):
    from .decision import labels_from_column
    from .evaluation import score_labeled
    from .plan import load_plan
    from .tasks import read_tasks

    plan = load_plan(plan_path)
    frame, column = read_tasks(labeled, text_column=text_column, warn=_warn)
    if label_column not in frame.columns:
        raise ClassifierError(f"{labeled}: no label column {label_column!r}; columns are: "
                              f"{', '.join(frame.columns)}; pass --label-column NAME")
    classifier = _classifier(plan, model)
    labels = labels_from_column(frame[label_column].tolist())
    return classifier, score_labeled(classifier, frame[column].tolist(), labels,
                                     source=labeled)


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
    from .decision import metrics

    def action():
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
    """Fit the thresholds on labeled tasks and write them into the plan file.

    Example:

        tactics calibrate data/labeled.csv --plan data/plan.yaml
    """
    from .decision import calibrate as fit
    from .decision import metrics
    from .plan import save_plan

    def action():
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
        typer.echo(f"wrote thresholds to {plan}", err=True)

    _run(action)


def _headline(result: dict) -> dict:
    keys = ("top1_accuracy", "decision_accuracy", "misaligned_f1", "status_counts")
    return {key: result[key] for key in keys}


def main() -> None:
    """Entry point for `python -m classifier`."""
    app(prog_name="tactics")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
