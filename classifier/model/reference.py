"""Generic work that serves no business strategy, written for this project and shipped with it:
what makes a score mean the same on every plan.

How they score against a plan sets that plan's cut-offs: a task is misaligned when it matches
the plan no better than the typical generic chore does (the median), and aligned when it
matches better than almost all of them (the 95th percentile). Its texts also act as examples of
work that serves no strategy (a task nearer to one of them than to any strategy text loses
score), each as far as the plan disowns it: fully below the misaligned cut-off, not at all from
the aligned one, so a support team's plan is not argued against by "Answer support tickets".
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..plan import Thresholds
from .embedding import GRID, Embedder

REFERENCE_FILE = Path(__file__).with_name("reference_work.txt")
# Round numbers, not fitted: CLINC150 val's fitted cut sits at the 61st percentile.
Q_MISALIGNED = 0.50
Q_ALIGNED = 0.95
MARGIN = 0.02
CACHE_VERSION = 1


@lru_cache(maxsize=1)
def reference_texts() -> tuple[str, ...]:
    """The reference tasks, one a line (comment lines left out)."""
    lines = REFERENCE_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _cache_file(embedder: Embedder) -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha256("\n".join([str(CACHE_VERSION), embedder.model_name, embedder.identity,
                                    embedder.precision, *reference_texts()]).encode()).hexdigest()
    return Path(base) / "tactic-classifier" / f"reference-{key[:24]}.npy"


def reference_vectors(embedder: Embedder) -> np.ndarray:
    """The reference tasks' vectors for this model: embedded once per machine, then read from a
    cache file (grid vectors, so the copy is exact); the cache is skipped where unwritable."""
    path = _cache_file(embedder)
    count = len(reference_texts())
    if path is not None and path.exists():
        try:
            stored = np.load(path, allow_pickle=False)
            if stored.shape == (count, embedder.dimension):
                vectors = (stored.astype(np.float64) / GRID).astype(np.float32)
                embedder.remember(list(reference_texts()), vectors)
                return vectors
        except (OSError, ValueError):
            pass
    vectors = embedder.embed(list(reference_texts()))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            with open(temporary, "wb") as handle:
                # Grid vectors are whole multiples of 1/2048: int16 holds them exactly.
                np.save(handle, np.rint(vectors.astype(np.float64) * GRID).astype(np.int16),
                        allow_pickle=False)
            os.replace(temporary, path)
        except OSError:
            pass
    return vectors


def relative_thresholds(reference_best: np.ndarray) -> Thresholds:
    """Cut-offs relative to how the reference tasks score against this plan."""
    best = np.asarray(reference_best, dtype=np.float64)
    misaligned = round(float(np.quantile(best, Q_MISALIGNED)), 4)
    aligned = round(max(float(np.quantile(best, Q_ALIGNED)), misaligned), 4)
    return Thresholds(aligned=aligned, misaligned=misaligned, margin=MARGIN,
                      fitted_on=f"this plan against {len(best)} reference tasks of generic work")


def disowned(reference_best: np.ndarray, cutoffs: Thresholds) -> np.ndarray:
    """How far this plan disowns each reference task, its weight as work that serves none: 1 at
    or below the misaligned cut-off, 0 at or above the aligned one, in proportion between."""
    best = np.asarray(reference_best, dtype=np.float64)
    width = max(cutoffs.aligned - cutoffs.misaligned, 1e-9)
    return np.clip((cutoffs.aligned - best) / width, 0.0, 1.0)
