"""The one error hierarchy the CLI and the UI turn into plain messages.

    ClassifierError            anything a user can fix; its message names the file, row or field
     ├── PlanError             the plan file or its contents
     ├── TasksError            a tasks file: its type, encoding, columns or rows
     │    ├── TextColumnUnknown  no column's name or content says which holds the task text
     │    └── TextColumnNumbers  the column named as the task text holds numbers
     ├── OutputError           an output file: its type, folder, same path as the input, full disk
     ├── ResultsError          a results table lacks what a summary or queue needs
     ├── ModelError            the embedding model cannot be had
     ├── StoreError            the store (SQLite file or database server)
     ├── LLMError              the LLM endpoint or its answers
     ├── AccessError           a signed-in person who may view but not decide
     └── ClusterError          the Ray cluster a `--ray` run works on
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Base of every error a user can act on; `str(err)` is the one line to show them."""


class PlanError(ClassifierError):
    """The plan is missing, malformed or invalid."""


class TasksError(ClassifierError):
    """A tasks file, one of its columns or one of its rows is unusable."""


class TextColumnUnknown(TasksError):
    """No column's name or content says which holds the task text (the app asks; the CLI
    wants --text-column); `columns` are the table's."""

    def __init__(self, message: str, columns: list[str]):
        super().__init__(message)
        self.columns = columns


class TextColumnNumbers(TasksError):
    """The column named as the task text holds numbers (an id or effort column picked by
    mistake); `app_message` says it as the app's column picker would."""

    def __init__(self, message: str, app_message: str):
        super().__init__(message)
        self.app_message = app_message


class OutputError(ClassifierError):
    """An output cannot be written where asked (nothing is left behind)."""


class ResultsError(ClassifierError):
    """A results table is missing a column a summary, report or queue needs."""


class ModelError(ClassifierError):
    """The embedding model cannot be loaded."""


class StoreError(ClassifierError):
    """The store cannot be opened, read or written."""


class LLMError(ClassifierError):
    """The LLM endpoint is misconfigured or unreachable."""


class AccessError(ClassifierError):
    """The signed-in person may not do this (they may view, not decide)."""


class ClusterError(ClassifierError):
    """The Ray cluster cannot be started or reached, or lost the run's work."""
