"""Every request the service cannot serve gets a JSON body saying why: wrong types and
malformed JSON, unknown paths and methods, and a 500 that still answers in JSON."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.helpers import assert_json_error
from tests.servers import ServiceThread


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": 123}, "question"),
        ({"question": ["a"]}, "question"),
        ({"question": "ok", "top_k": "5"}, "top_k"),
        ({"question": "ok", "top_k": 2.5}, "top_k"),
        ({"question": "ok", "stream": "yes"}, "stream"),
        ({"question": "ok", "topk": 3}, "topk"),
        ({}, "question"),
        ([], "body"),
    ],
)
def test_wrong_types_are_422_naming_the_field(client: httpx.Client, payload: object,
                                              field: str) -> None:
    body = assert_json_error(client.post("/api/query", json=payload), 422)
    assert body["error"] == "invalid_request"
    assert field in body["detail"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"question": "a"', b"\xff\xfe", b""])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/api/query", content=raw,
                           headers={"content-type": "application/json"})
    body = assert_json_error(response, 400 if raw else 422)
    if raw:
        assert body["error"] == "malformed_json"


def test_unknown_paths_and_methods_are_json(client: httpx.Client) -> None:
    assert assert_json_error(client.get("/no/such/path"), 404)["error"] == "not_found"
    assert assert_json_error(client.get("/api/query"), 405)["error"] == "method_not_allowed"


def test_no_input_gives_a_500(make_service: Callable[..., ServiceThread]) -> None:
    """A mixed bag of hostile bodies never reaches the generic 500 handler."""
    service = make_service()
    query_bodies = [b"null", b"[]", b"1", b'"q"', b'{"question": null}',
                    b'{"question": {"a": 1}}', b'{"question": "ok", "top_k": 1e309}',
                    b'{"question": "\\ud800"}', b'{"question": "ok", "top_k": true}']
    cases = [("/api/query", raw) for raw in query_bodies] + [
        ("/api/documents", b'{"documents": [{"text": "\\udfff"}]}'),
        ("/api/documents", b'{"documents": [{"text": "ok", "source": "\\ud800"}]}'),
        ("/api/documents", b'{"documents": null}'),
    ]
    with httpx.Client(base_url=service.url, timeout=10) as client:
        for path, raw in cases:
            response = client.post(path, content=raw,
                                   headers={"content-type": "application/json"})
            assert_json_error(response, 422)
