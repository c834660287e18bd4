"""Unit vectors: every embedding is scaled to length 1 once, where it enters the service
(Ollama's answer, ``app/upstream/answers.py``), so that the cache, the store and the index
compare by a dot product and none of them normalises again.

    >>> unit_rows(np.array([[3.0, 4.0]]))  # array([[0.6, 0.8]], dtype=float32)
"""

from __future__ import annotations

import numpy as np


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (float32); a zero row stays zero."""
    rows = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def unit_vector(vector: np.ndarray | list[float]) -> np.ndarray:
    """The vector scaled to length 1 (float32); a zero vector stays zero."""
    return unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
