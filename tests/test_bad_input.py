"""Every request the service cannot serve gets a 4xx JSON body saying why."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import httpx
import pytest

from app.http.route_metrics import flat_routes
from tests.helpers import pipelined_statuses, scrape
from tests.servers import ServiceThread


def assert_json_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body


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


@pytest.mark.parametrize("raw", [b"{not json", b'{"question": "a"', b"\xff\xfe", b""])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/api/query", content=raw,
                           headers={"content-type": "application/json"})
    body = assert_json_error(response, 400 if raw else 422)
    if raw:
        assert body["error"] == "malformed_json"


def test_a_body_over_one_mebibyte_is_413(client: httpx.Client) -> None:
    big = b'{"question": "' + b"a" * (1024 * 1024) + b'"}'
    body = assert_json_error(client.post("/api/query", content=big,
                                         headers={"content-type": "application/json"}), 413)
    assert body["error"] == "body_too_large"

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(20):
            yield b"a" * 65536

    chunked = client.post("/api/documents", content=chunks(),
                          headers={"content-type": "application/json"})
    assert_json_error(chunked, 413)


def test_unknown_paths_and_methods_are_json(client: httpx.Client) -> None:
    assert assert_json_error(client.get("/no/such/path"), 404)["error"] == "not_found"
    assert assert_json_error(client.get("/api/query"), 405)["error"] == "method_not_allowed"


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


def test_unknown_paths_add_no_series(service: ServiceThread) -> None:
    """10,000 requests to random paths with random methods: one fixed route value."""
    rng = random.Random(7)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "FOO", "PROPFIND"]

    def random_path() -> str:
        parts = ["".join(rng.choices(string.ascii_letters + string.digits, k=8))
                 for _ in range(rng.randint(1, 4))]
        return "/" + "/".join(parts)

    requests = [(rng.choice(methods), random_path()) for _ in range(10_000)]
    statuses = set(pipelined_statuses(service.url, requests))
    assert statuses <= {404, 405}
    samples = scrape(service.url)
    routes = {dict(labels)["route"] for (name, labels) in samples
              if name == "ollama_rag_http_requests_total"}
    methods_seen = {dict(labels)["method"] for (name, labels) in samples
                    if name == "ollama_rag_http_requests_total"}
    # Every route is created at zero at start; random paths add only "unmatched".
    templates = {getattr(r, "path", "") for r in flat_routes(service.app.routes)}
    assert routes <= templates | {"unmatched"}
    assert methods_seen <= {"GET", "POST", "PUT", "DELETE", "PATCH", "OTHER"}
    total = sum(v for (name, labels), v in samples.items()
                if name == "ollama_rag_http_requests_total"
                and dict(labels)["route"] == "unmatched")
    assert total == 10_000


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
