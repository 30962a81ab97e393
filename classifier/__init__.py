"""tactic-classifier: see which strategy each task serves.

    >>> import classifier
    >>> plan = classifier.load_plan("data/plan.yaml")
    >>> results = classifier.Classifier(plan).classify(["Call last quarter's one-time buyers"])
"""

from .decision import DEFAULT_THRESHOLDS, Status, calibrate, decide, metrics
from .embedding import Embedder, EmbedderSettings, get_embedder
from .engine import Candidate, Classifier, TaskResult
from .errors import ClassifierError, LLMError, ModelError, PlanError, StoreError, TasksError
from .evaluation import score_labeled
from .plan import Plan, Strategy, Thresholds, load_plan, save_plan
from .tasks import read_tasks

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Candidate",
    "Classifier",
    "ClassifierError",
    "Embedder",
    "EmbedderSettings",
    "LLMError",
    "ModelError",
    "Plan",
    "PlanError",
    "Status",
    "Strategy",
    "StoreError",
    "TaskResult",
    "TasksError",
    "Thresholds",
    "calibrate",
    "decide",
    "get_embedder",
    "load_plan",
    "metrics",
    "read_tasks",
    "save_plan",
    "score_labeled",
]
