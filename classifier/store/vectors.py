"""Task vectors in the store, by model and text: a week's list that is mostly last week's tasks
embeds only the new ones. Grid vectors are whole multiples of 1/GRID, kept exactly as int16."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import sqlalchemy as sa

from ..model.embedding import GRID
from .database import Database
from .schema import VECTORS

LOOKUP_CHUNK = 500


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorStore(Database):
    """Vectors kept per model and text."""

    def vectors_get(self, model: str, texts: Sequence[str], dimension: int
                    ) -> dict[str, np.ndarray]:
        """The stored vectors of these texts for this model (texts never seen are left out)."""
        hashes = {_hash(text): text for text in dict.fromkeys(texts)}
        found: dict[str, np.ndarray] = {}
        keys = list(hashes)
        with self._connect(write=False) as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                part = keys[start:start + LOOKUP_CHUNK]
                rows = conn.execute(sa.select(VECTORS.c.text_hash, VECTORS.c.vector).where(
                    VECTORS.c.model == model, VECTORS.c.text_hash.in_(part)))
                for text_hash, blob in rows:
                    vector = np.frombuffer(blob, dtype="<i2")
                    if vector.shape == (dimension,):
                        found[hashes[text_hash]] = (vector.astype(np.float64) / GRID
                                                    ).astype(np.float32)
        return found

    def vectors_put(self, model: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Keep vectors (grid vectors) of texts for this model; known ones are left as they are."""
        if not vectors:
            return
        rows = [{"model": model, "text_hash": _hash(text),
                 "vector": np.rint(np.asarray(vector, dtype=np.float64) * GRID)
                 .astype("<i2").tobytes()} for text, vector in vectors.items()]
        # Looked up first without the write lock: mostly every vector is known already.
        with self._connect(write=False) as conn:
            rows = self._unknown(conn, model, rows)
        if not rows:
            return
        with self._connect(write=True) as conn:
            fresh = self._unknown(conn, model, rows)
            if fresh:
                conn.execute(sa.insert(VECTORS), fresh)

    @staticmethod
    def _unknown(conn: sa.Connection, model: str, rows: list[dict]) -> list[dict]:
        existing: set[str] = set()
        hashes = [row["text_hash"] for row in rows]
        for start in range(0, len(hashes), LOOKUP_CHUNK):
            existing.update(conn.execute(sa.select(VECTORS.c.text_hash).where(
                VECTORS.c.model == model,
                VECTORS.c.text_hash.in_(hashes[start:start + LOOKUP_CHUNK]))).scalars())
        return list({row["text_hash"]: row for row in rows
                     if row["text_hash"] not in existing}.values())

    def vectors_count(self, model: str | None = None) -> int:
        """How many vectors are kept (for one model, or all)."""
        query = sa.select(sa.func.count()).select_from(VECTORS)
        if model is not None:
            query = query.where(VECTORS.c.model == model)
        with self._connect(write=False) as conn:
            return int(conn.execute(query).scalar_one())
