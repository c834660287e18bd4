"""GET /docs and /redoc load with no outside request: every script, style sheet, icon and
schema the pages reference is served by the service itself."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import httpx
import pytest

from tests.servers import ServiceThread

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl:\s*['"]([^'"]+)['"]""")


def references(html: str) -> set[str]:
    found = {a or b for a, b in REFERENCE.findall(html)}
    found |= set(re.findall(r"""spec-url=["']([^"']+)["']""", html))
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_a_page_references_is_served_here(service: ServiceThread,
                                                      page: str) -> None:
    html = httpx.get(service.url + page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text
    assets = references(html.text)
    assert "/openapi.json" in assets and any(a.endswith(".js") for a in assets)
    for asset in assets:
        url = urljoin(service.url + page, asset)
        assert urlparse(url).netloc == urlparse(service.url).netloc, asset
        got = httpx.get(url)
        assert got.status_code == 200 and len(got.content) > 1000, asset


def test_an_unknown_asset_is_a_json_404(service: ServiceThread) -> None:
    got = httpx.get(service.url + "/docs/assets/..%2F..%2Fetc%2Fpasswd")
    assert got.status_code == 404 and got.json()["error"] == "not_found"
