"""Same vectors on another machine: the product's grid vectors of a fixed text set, compared bit
for bit between machines (other CPUs, thread counts, CUDA, library versions).

    python benchmarks/same_vectors.py texts .bench/texts.json        # CLINC150 test, SDG, generic work
    python benchmarks/same_vectors.py embed .bench/texts.json here.npy
    python benchmarks/same_vectors.py embed texts.json there.npy --device cuda --model /tmp/model
    python benchmarks/same_vectors.py compare here.npy there.npy

`embed` needs only numpy, torch and sentence-transformers (a GPU machine's stock image has no
pydantic or faiss): it loads the embedder module without the package around it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def write_texts(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_data

    texts: list[str] = []
    clinc = bench_data.clinc()
    for split in ("test", "oos_test"):
        texts += [text for text, _ in clinc[split]]
    plan, tasks = bench_data.sdg()
    texts += list(tasks.texts)
    for strategy in plan.strategies:
        texts += [strategy.name, strategy.description or ""]
    reference = ROOT / "classifier" / "model" / "reference_work.txt"
    texts += [line.strip() for line in reference.read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")]
    unique = list(dict.fromkeys(text for text in texts if text))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(unique), encoding="utf-8")
    print(f"{len(unique)} texts -> {path}")


def embed(texts_path: Path, out: Path, device: str, threads: int, model: str | None) -> None:
    # The package's __init__ imports pydantic, ruamel and faiss; the embedder needs none of them.
    for name, folder in (("classifier", "classifier"), ("classifier.model", "classifier/model")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(ROOT / folder)]
            sys.modules[name] = module
    import torch

    from classifier.model.embedding import Embedder, EmbedderSettings

    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    started = time.perf_counter()
    embedder = Embedder(EmbedderSettings(model=model, cache_size=0, device=device,
                                         threads=threads))
    vectors = embedder.embed(texts)
    np.save(out, vectors)
    print(f"{len(texts)} texts on {device} ({threads or 'all'} threads), torch "
          f"{torch.__version__}: {time.perf_counter() - started:.1f} s -> {out}")


def compare(first: Path, second: Path) -> int:
    a, b = np.load(first), np.load(second)
    rows = min(len(a), len(b))
    differ = (a[:rows] != b[:rows]).any(axis=1)
    print(f"{rows} vectors compared: {int(differ.sum())} differ "
          f"(largest difference {float(np.abs(a[:rows] - b[:rows]).max()) * 2048:g} grid steps)")
    return 1 if differ.any() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("texts").add_argument("out", type=Path)
    embedding = verbs.add_parser("embed")
    embedding.add_argument("texts", type=Path)
    embedding.add_argument("out", type=Path)
    embedding.add_argument("--device", default="cpu")
    embedding.add_argument("--threads", type=int, default=0)
    embedding.add_argument("--model", default=None, help="a model folder (default: bundled)")
    comparing = verbs.add_parser("compare")
    comparing.add_argument("first", type=Path)
    comparing.add_argument("second", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.verb == "texts":
        write_texts(args.out)
    elif args.verb == "embed":
        embed(args.texts, args.out, args.device, args.threads, args.model)
    else:
        return compare(args.first, args.second)
    return 0


if __name__ == "__main__":
    sys.exit(main())
