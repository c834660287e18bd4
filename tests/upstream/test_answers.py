"""What Ollama answers, parsed and checked: embeddings become unit rows where they enter."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.errors import UpstreamBadResponse
from app.upstream.answers import embeddings_of


def test_embeddings_are_made_unit_rows_once_where_they_enter() -> None:
    rows = embeddings_of({"embeddings": [[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]]}, 3)
    assert rows.dtype == np.float32
    assert np.allclose(rows, [[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("embeddings", [[[1.0, float("nan")]], [[1.0], [2.0]], "text", [[]]])
def test_embeddings_that_are_not_one_finite_row_per_text_are_a_bad_response(
        embeddings: object) -> None:
    with pytest.raises(UpstreamBadResponse):
        embeddings_of({"embeddings": embeddings}, 1)
