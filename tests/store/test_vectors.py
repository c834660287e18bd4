"""Unit vectors: length 1 in float32, a zero vector left zero."""

from __future__ import annotations

import numpy as np

from app.store.vectors import unit_rows, unit_vector


def test_rows_are_scaled_to_length_one_and_zero_rows_stay_zero() -> None:
    rows = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]]))
    assert rows.dtype == np.float32
    assert np.allclose(rows, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], atol=1e-6)


def test_a_vector_is_a_row_of_one() -> None:
    vector = unit_vector([1.0, 1.0])
    assert vector.shape == (2,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-6
