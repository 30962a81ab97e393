"""tactic-classifier: see which strategy each task serves.

    >>> import classifier
    >>> plan = classifier.load_plan("data/plan.yaml")
    >>> results = classifier.Classifier(plan).classify(["Call last quarter's one-time buyers"])
"""

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
