"""A task's output row depends on the task, the plan, the model and the store only: not on the
other rows of its file, the chunk size, the batch it was encoded in, or the CPU's code paths."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.model.embedding import Embedder, EmbedderSettings
from classifier.model.engine import Classifier
from classifier.pipeline import classify_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_tasks import write_tasks  # noqa: E402

pytestmark = pytest.mark.slow


def _rows(path: Path) -> list[str]:
    """The output's lines (header first), as bytes decoded, so a comparison is byte for byte."""
    return path.read_bytes().decode("utf-8").splitlines(keepends=True)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("same") / "tasks.csv"
    write_tasks(path, 600, seed=11)
    return path


@pytest.fixture(scope="module")
def uncached(sample_plan) -> Classifier:
    """No vector cache: every text is encoded again, alone or among hundreds of others."""
    return Classifier(sample_plan, Embedder(EmbedderSettings(cache_size=0)))


@pytest.fixture(scope="module")
def whole(uncached, big_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "whole.csv"
    classify_file(uncached, big_file, out, chunk_rows=10_000)
    return out


def test_tasks_alone_and_inside_a_larger_file_get_the_same_bytes(uncached, big_file, whole,
                                                                  tmp_path):
    lines = _rows(whole)
    with big_file.open(encoding="utf-8", newline="") as handle:
        inputs = list(csv.reader(handle))
    for position in (1, 2, 77, 301, 599, 600):
        alone_in = tmp_path / f"alone-{position}.csv"
        with alone_in.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([inputs[0], inputs[position]])
        alone_out = tmp_path / f"alone-{position}-out.csv"
        classify_file(uncached, alone_in, alone_out)
        assert _rows(alone_out) == [lines[0], lines[position]], f"row {position}"


def test_chunk_size_does_not_change_a_byte(uncached, big_file, whole, tmp_path):
    chunked = tmp_path / "chunked.csv"
    classify_file(uncached, big_file, chunked, chunk_rows=37)
    assert chunked.read_bytes() == whole.read_bytes()


RUN = """
import sys, numpy as np, pandas as pd
from classifier.model.embedding import Embedder
from classifier.model.engine import Classifier
from classifier.pipeline import classify_file
from classifier.plan import load_plan
tasks, plan, out, vectors = sys.argv[1:5]
classifier = Classifier(load_plan(plan), Embedder())
classify_file(classifier, tasks, out)
texts = pd.read_csv(tasks, dtype=str, keep_default_na=False)["task"].tolist()
np.save(vectors, classifier.embedder.embed(texts))
"""


def _classify(tasks: Path, out: Path, vectors: Path, **env: str) -> None:
    subprocess.run([sys.executable, "-c", RUN, str(tasks), str(DATA / "plan.yaml"), str(out),
                    str(vectors)], check=True, cwd=ROOT,
                   env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, capture_output=True)


def test_other_cpu_code_paths_give_the_same_bytes(tmp_path):
    """Another CPU runs other kernels. On this one, MKL's portable code path and torch's
    non-vectorised kernels stand in for them: in float32 they move about one grid point in
    every few vectors, and one score's fourth decimal in a few thousand rows."""
    import numpy as np

    tasks = tmp_path / "tasks.csv"
    write_tasks(tasks, 60, seed=5)
    _classify(tasks, tmp_path / "native.csv", tmp_path / "native.npy")
    _classify(tasks, tmp_path / "portable.csv", tmp_path / "portable.npy",
              MKL_CBWR="COMPATIBLE", ATEN_CPU_CAPABILITY="default")
    assert np.array_equal(np.load(tmp_path / "native.npy"), np.load(tmp_path / "portable.npy"))
    assert (tmp_path / "native.csv").read_bytes() == (tmp_path / "portable.csv").read_bytes()
