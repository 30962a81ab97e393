"""Ray itself, imported only when asked for, and what Ray raises turned into one line."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from ..errors import ClassifierError, ClusterError

RAY_HINT = "--ray needs Ray: pip install 'tactic-classifier[ray]'"


def require_ray() -> None:
    """A one-line ClassifierError that says how to install Ray, when it is missing (Ray itself
    is not imported: a local cluster's settings must be in the environment before it is)."""
    if importlib.util.find_spec("ray") is None:
        raise ClassifierError(RAY_HINT)


def import_ray() -> ModuleType:
    """The `ray` module, or a one-line ClassifierError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the extra's `ray[data]`)
    except ImportError:
        raise ClassifierError(RAY_HINT) from None
    return ray


def carried(error: ClassifierError) -> ClassifierError:
    # Ray rewrites a failed task's exception message; the one line travels beside it.
    error.one_line = str(error)  # type: ignore[attr-defined]
    return error


def plain_error(error: BaseException) -> ClassifierError | None:
    """The project's error inside what Ray raised on the driver, as its one line; or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ClassifierError):
            kind = next(c for c in type(current).__mro__
                        if issubclass(c, ClassifierError) and c.__module__ == ClassifierError.__module__)
            line = getattr(current, "one_line", None) or str(current).strip().splitlines()[0]
            return kind(line)
        current = getattr(current, "cause", None) or current.__cause__
    return None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def innermost(error: BaseException) -> BaseException:
    while (cause := getattr(error, "cause", None) or error.__cause__) is not None:
        error = cause
    return error


def ray_failure(error: Exception) -> ClassifierError:
    """What Ray raised on the driver, as one line: the project's error, or Ray's."""
    return plain_error(error) or ClusterError(
        f"Ray: {type(error).__name__}: {first_line(innermost(error))}")
