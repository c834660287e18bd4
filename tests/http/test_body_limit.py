"""Bodies over the limit are refused with a JSON 413, chunked ones too."""

from __future__ import annotations

import httpx

from tests.helpers import assert_json_error


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
