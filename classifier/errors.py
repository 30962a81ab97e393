"""The one error hierarchy the CLI and the UI turn into plain messages.

    ClassifierError            anything a user can fix; its message names the file, row or field
     ├── PlanError             the plan file or its contents
     ├── TasksError            the tasks file, a column, a row, or the output path
     ├── ModelError            the embedding model cannot be had
     ├── StoreError            the SQLite store
     └── LLMError              the LLM endpoint or its answers
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Base of every error a user can act on; `str(err)` is the one line to show them."""


class PlanError(ClassifierError):
    """The plan is missing, malformed or invalid."""


class TasksError(ClassifierError):
    """The tasks file, a column, a row, or the output path is unusable."""


class ModelError(ClassifierError):
    """The embedding model cannot be loaded."""


class StoreError(ClassifierError):
    """The store cannot be opened or written."""


class LLMError(ClassifierError):
    """The LLM endpoint is misconfigured or unreachable."""
