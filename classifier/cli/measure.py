"""Measuring a plan on labeled tasks: `tactics evaluate` prints the figures, `tactics calibrate`
fits the thresholds and writes them into the plan file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import ClassifierError
from .common import (
    LabelColumnOption,
    ModelOption,
    PlanOption,
    TextColumnOption,
    app,
    run_command,
    say,
    warn,
)

if TYPE_CHECKING:
    from ..model.decision import Scored
    from ..model.engine import Classifier
    from ..plan import Plan


def _classifier(plan: Plan, model: str) -> Classifier:
    from ..model.embedding import EmbedderSettings, get_embedder
    from ..model.engine import Classifier

    return Classifier(plan, get_embedder(EmbedderSettings(model=model)))


def _scored(labeled: str, plan_path: Path, label_column: str, text_column: list[str] | None,
            model: str, enough: bool = False) -> tuple[Classifier, Scored]:
    """The labeled file scored by the plan's classifier; `enough`: refuse (before loading
    the model) a file with too few labels to fit cut-offs on."""
    from ..cells import is_blank_task
    from ..files.readers import open_tasks, read_source
    from ..model.decision import labels_from_column
    from ..model.evaluation import score_labeled
    from ..model.learned import MIN_DECISIONS, MIN_EACH_KIND, enough_to_fit
    from ..plan import load_plan

    plan = load_plan(plan_path)
    source = open_tasks(labeled, text_column=text_column, warn=warn)
    frame, column = read_source(source)
    # Rows named as a spreadsheet shows them: the header is row 1, below any title.
    first_row = (source.header_row + 2 if source.kind in ("csv", "tsv", "xlsx") else
                 source.header_row + 3 if source.kind == "md" else 1)
    if label_column not in frame.columns:
        raise ClassifierError(f"{labeled}: no label column {label_column!r}; columns are: "
                              f"{', '.join(frame.columns)}; pass --label-column NAME")
    labels = labels_from_column(frame[label_column].tolist())
    if enough:
        kept = [label for text, label in zip(frame[column], labels, strict=True)
                if not is_blank_task(text)]
        none = sum(label is None for label in kept)
        if not enough_to_fit(len(kept), len(kept) - none, none):
            raise ClassifierError(
                f"{labeled}: {len(kept)} labeled tasks ({len(kept) - none} with a strategy, "
                f"{none} serving none) are too few to fit cut-offs on: label at least "
                f"{MIN_DECISIONS}, with {MIN_EACH_KIND} or more of each kind (the rule review "
                f"decisions follow); {plan_path} is unchanged")
    classifier = _classifier(plan, model)
    return classifier, score_labeled(classifier, frame[column].tolist(), labels, source=labeled,
                                     first_row=first_row)


LabeledArgument = Annotated[str, typer.Argument(help="Tasks with a label column.",
                                               show_default=False)]


@app.command()
def evaluate(
    labeled: LabeledArgument,
    plan: PlanOption,
    label_column: LabelColumnOption = "label",
    text_column: TextColumnOption = None,
    model: ModelOption = "default",
) -> None:
    """Print accuracy, misaligned precision/recall/F1 and AUROC as JSON.

    Example:

        tactics evaluate data/labeled.csv --plan data/plan.yaml
    """
    from ..model.evaluation import metrics

    def action() -> None:
        classifier, scored = _scored(labeled, plan, label_column, text_column, model)
        typer.echo(json.dumps(metrics(scored, classifier.thresholds), indent=2))

    run_command(action)


@app.command(short_help="Fit the thresholds on labeled tasks and write them into the plan file.")
def calibrate(
    labeled: LabeledArgument,
    plan: PlanOption,
    label_column: LabelColumnOption = "label",
    text_column: TextColumnOption = None,
    model: ModelOption = "default",
    force: Annotated[bool, typer.Option(
        "--force", help="Write the fitted thresholds even when they do no better on these "
        "rows than the plan's current ones.")] = False,
) -> None:
    """Fit the thresholds on labeled tasks and write them into the plan file (its comments and
    key order are kept), when they do better on those tasks than the plan's current ones.

    Example:

        tactics calibrate data/labeled.csv --plan data/plan.yaml
    """
    from ..model.decision import calibrate as fit
    from ..model.evaluation import metrics
    from ..plan import save_plan

    def action() -> None:
        if plan.suffix.lower() in (".csv", ".xlsx"):
            raise ClassifierError(f"{plan}: a strategies table cannot hold thresholds; "
                                  f"save the plan as YAML first (the app's Plan page exports it)")
        classifier, scored = _scored(labeled, plan, label_column, text_column, model,
                                     enough=True)
        before = metrics(scored, classifier.thresholds)
        thresholds = fit(scored, classifier.thresholds,
                         fitted_on=f"{Path(labeled).name}, {len(scored.gold)} rows, "
                                   f"model {model}")
        after = metrics(scored, thresholds)
        written = force or _better(before, after)
        if written:
            save_plan(classifier.plan.model_copy(update={"thresholds": thresholds}), plan)
        typer.echo(json.dumps({"thresholds": thresholds.model_dump(exclude_none=True),
                               "before": _headline(before), "after": _headline(after),
                               "written": written}, indent=2))
        if written:
            say(f"wrote thresholds to {plan}")
        else:
            say(f"{plan} is unchanged: the fitted thresholds do no better on these "
                f"{len(scored.gold)} tasks than its current ones (decision accuracy "
                f"{before['decision_accuracy'] or 0:.3f} -> {after['decision_accuracy'] or 0:.3f}, "
                f"misaligned F1 {before['misaligned_f1'] or 0:.3f} -> "
                f"{after['misaligned_f1'] or 0:.3f}); "
                f"--force writes them anyway")

    run_command(action)


def _better(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether fitted cut-offs beat the current ones on the rows they were fitted on: better on
    decision accuracy or misaligned F1 (a cut-off that moves neither is a change for nothing:
    on the sample plan it halved the misaligned precision)."""
    keys = ("decision_accuracy", "misaligned_f1")
    return any(round(after[key] or 0.0, 4) > round(before[key] or 0.0, 4) for key in keys)


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("top1_accuracy", "decision_accuracy", "misaligned_f1", "status_counts")
    return {key: result[key] for key in keys}
