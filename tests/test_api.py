"""The public API is exactly `__all__` (as httpx's test_exported_members), and its example runs."""

from __future__ import annotations

import doctest
import inspect
from pathlib import Path
from types import ModuleType

import classifier
from classifier.errors import ClassifierError

ROOT = Path(__file__).resolve().parent.parent


def test_all_public_members_are_exported():
    # dir(), not vars(): most of the API is imported when first used.
    public = [name for name in dir(classifier)
              if not name.startswith("_") and not isinstance(getattr(classifier, name), ModuleType)]
    assert sorted(public) == sorted(classifier.__all__)


def test_all_names_are_unique():
    assert len(classifier.__all__) == len(set(classifier.__all__))


def test_every_export_is_documented():
    for name in classifier.__all__:
        value = getattr(classifier, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_every_error_is_a_classifier_error():
    errors = [getattr(classifier, name) for name in classifier.__all__
              if name.endswith("Error")]
    assert len(errors) >= 5
    assert all(issubclass(error, ClassifierError) for error in errors)


def test_module_example_runs(monkeypatch, embedder):
    monkeypatch.chdir(ROOT)
    failed, attempted = doctest.testmod(classifier, verbose=False)
    assert attempted == 3 and failed == 0
