"""The limits the settings set: refused with a 422 naming the field, accepted at the bound."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import assert_json_error


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"question": ""}, "must not be empty"),
        ({"question": "   \n\t "}, "must not be empty"),
        ({"question": "x" * 8001}, "longer than 8000"),
        ({"question": "ok", "top_k": 0}, "top_k"),
        ({"question": "ok", "top_k": 21}, "top_k"),
        ({"question": "ok", "top_k": -1}, "top_k"),
    ],
)
def test_out_of_range_values_are_422(client: httpx.Client, payload: object,
                                     needle: str) -> None:
    body = assert_json_error(client.post("/api/query", json=payload), 422)
    assert needle in body["detail"]


def test_a_question_at_the_limit_is_accepted(client: httpx.Client) -> None:
    response = client.post("/api/query", json={"question": "y" * 8000})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"documents": []}, "at least one"),
        ({"documents": [{"text": ""}]}, "must not be empty"),
        ({"documents": [{"text": "ok", "source": "s" * 201}]}, "source"),
        ({"documents": [{"text": 5}]}, "text"),
        ({"documents": [{"text": "ok"}] * 101}, "at most 100"),
        ({"docs": []}, "documents"),
    ],
)
def test_bad_documents_are_422(client: httpx.Client, payload: object, needle: str) -> None:
    body = assert_json_error(client.post("/api/documents", json=payload), 422)
    assert needle in body["detail"]
