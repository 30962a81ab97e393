"""tactic-classifier: see which strategy each task serves.

    >>> import classifier
    >>> plan = classifier.load_plan("data/plan.yaml")
    >>> results = classifier.Classifier(plan).classify(["Call last quarter's one-time buyers"])
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

from .errors import (
    ClassifierError,
    LLMError,
    ModelError,
    OutputError,
    PlanError,
    ResultsError,
    StoreError,
    TasksError,
)

# The rest is imported when first used: `import classifier.cli` (every `tactics` command,
# `--help` included) then does not load torch, FAISS and scikit-learn before it needs them.
_LAZY = {
    "open_tasks": "files.readers", "read_tasks": "files.readers",
    "DEFAULT_THRESHOLDS": "model.decision", "calibrate": "model.decision",
    "decide": "model.decision",
    "Embedder": "model.embedding", "EmbedderSettings": "model.embedding",
    "get_embedder": "model.embedding",
    "Classifier": "model.engine",
    "metrics": "model.evaluation", "score_labeled": "model.evaluation",
    "Learned": "model.learned",
    "build_classifier": "model.learning",
    "Progress": "pipeline", "RunSummary": "pipeline", "classify_file": "pipeline",
    "Plan": "plan", "Strategy": "plan", "Thresholds": "plan", "load_plan": "plan",
    "save_plan": "plan",
    "Candidate": "results", "Status": "results", "TaskResult": "results",
}

if _TYPE_CHECKING:
    from .files.readers import open_tasks, read_tasks
    from .model.decision import DEFAULT_THRESHOLDS, calibrate, decide
    from .model.embedding import Embedder, EmbedderSettings, get_embedder
    from .model.engine import Classifier
    from .model.evaluation import metrics, score_labeled
    from .model.learned import Learned
    from .model.learning import build_classifier
    from .pipeline import Progress, RunSummary, classify_file
    from .plan import Plan, Strategy, Thresholds, load_plan, save_plan
    from .results import Candidate, Status, TaskResult


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    value = getattr(_import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_THRESHOLDS",
    "Candidate",
    "Classifier",
    "ClassifierError",
    "Embedder",
    "EmbedderSettings",
    "LLMError",
    "Learned",
    "ModelError",
    "OutputError",
    "Plan",
    "PlanError",
    "Progress",
    "ResultsError",
    "RunSummary",
    "Status",
    "StoreError",
    "Strategy",
    "TaskResult",
    "TasksError",
    "Thresholds",
    "build_classifier",
    "calibrate",
    "classify_file",
    "decide",
    "get_embedder",
    "load_plan",
    "metrics",
    "open_tasks",
    "read_tasks",
    "save_plan",
    "score_labeled",
]
