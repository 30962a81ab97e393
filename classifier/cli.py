"""The `tactics` command: a thin layer over the library that turns its errors into one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ClassifierError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Match a team's tasks to the strategies of a plan.")

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
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _classifier(plan_path: Path, model: str):
    from .embedding import EmbedderSettings, get_embedder
    from .engine import Classifier
    from .plan import load_plan

    plan = load_plan(plan_path)
    return Classifier(plan, get_embedder(EmbedderSettings(model=model)))


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
) -> None:
    """Classify every task and write it with its strategy, score and status.

    Example:

        tactics classify data/tasks.csv --plan data/plan.yaml --out results.csv
    """
    from .tasks import prepare_output

    def action():
        prepare_output(out)
        classifier = _classifier(plan, model)
        summary = classifier.classify_file(tasks, out, text_column=text_column, sheet=sheet,
                                           progress=not quiet, warn=_warn)
        counts = ", ".join(f"{count} {status}" for status, count in
                           summary.status_counts.items() if count)
        typer.echo(f"wrote {summary.rows} rows to {out} ({counts or 'no tasks'})", err=True)

    _run(action)


def _scored(labeled: str, plan_path: Path, label_column: str, text_column: str | None,
            model: str):
    from .decision import labels_from_column
    from .evaluation import score_labeled
    from .tasks import read_tasks

    frame, column = read_tasks(labeled, text_column=text_column, warn=_warn)
    if label_column not in frame.columns:
        raise ClassifierError(f"{labeled}: no label column {label_column!r}; columns are: "
                              f"{', '.join(frame.columns)}; pass --label-column NAME")
    classifier = _classifier(plan_path, model)
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
    from .decision import calibrate as fit, metrics
    from .plan import save_plan

    def action():
        classifier, scored = _scored(labeled, plan, label_column, text_column, model)
        before = metrics(scored, classifier.thresholds)
        thresholds = fit(scored, classifier.thresholds,
                         fitted_on=f"{Path(labeled).name}, {len(scored.gold)} rows, "
                                   f"model {model}")
        after = metrics(scored, thresholds)
        updated = classifier.plan.model_copy(update={"thresholds": thresholds})
        if plan.suffix.lower() == ".csv":
            raise ClassifierError(f"{plan}: a strategies CSV cannot hold thresholds; "
                                  f"save the plan as YAML first")
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
