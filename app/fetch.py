"""``python -m app.fetch [--ollama] PATH``: GET one of this instance's endpoints (or, with
``--ollama``, one of its Ollama's) and print the answer; the runbook's curl for the service
image, which has no curl.

It reads the instance's own settings (``OLLAMA_RAG_PORT``, ``OLLAMA_RAG_OLLAMA_URL``), so
that ``docker compose exec --index 2 app python -m app.fetch --ollama /api/version`` asks
Ollama from where replica 2 stands.

    $ python -m app.fetch /api/breaker
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from pydantic import ValidationError

from app.core.settings import Settings


def url_for(path: str, *, ollama: bool, settings: Settings) -> str:
    if path.startswith(("http://", "https://")):
        return path
    base = settings.ollama_url if ollama else f"http://127.0.0.1:{settings.port}"
    return base.rstrip("/") + "/" + path.lstrip("/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.fetch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a path such as /api/breaker, or a whole URL")
    parser.add_argument("--ollama", action="store_true",
                        help="ask this instance's Ollama (OLLAMA_RAG_OLLAMA_URL) instead")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    url = url_for(args.path, ollama=args.ollama, settings=settings)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        print(f"{url}: no answer ({exc})", file=sys.stderr)
        return 1
    try:
        text = json.dumps(json.loads(body), indent=2)
    except ValueError:
        text = body.decode("utf-8", "replace")
    print(f"{status} {url}\n{text}")
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
