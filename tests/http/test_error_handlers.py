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


def test_on_v1_every_error_comes_in_openai_s_shape(
        make_service: Callable[..., ServiceThread]) -> None:
    """Also those answered before any route: a body over the limit, a draining instance."""
    service = make_service(max_body_bytes=1024)
    url = f"{service.url}/v1/chat/completions"
    too_big = httpx.post(url, content=b"x" * 2048, headers={"content-type": "application/json"})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "body_too_large"
    assert too_big.json()["error"]["type"] == "invalid_request_error"
    assert int(too_big.headers["content-length"]) == len(too_big.content)
    unknown = httpx.get(f"{service.url}/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {"message": "Not Found", "type": "not_found_error",
                                       "param": None, "code": "not_found"}
    service.components.drain.begin()
    draining = httpx.post(url, json={"model": "m", "messages": []})
    assert draining.status_code == 503 and draining.json()["error"]["type"] == "api_error"
    assert draining.headers["retry-after"]
    assert_json_error(httpx.post(f"{service.url}/api/query", json={}), 503)  # native shape
