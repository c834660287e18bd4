"""A webhook receiver that records every Alertmanager notification.

``python -m loadtest.stack.alert_sink --port 9099``. Alertmanager posts to ``/hooks/<receiver>``;
``GET /notifications`` lists what arrived (oldest first) and ``DELETE /notifications``
forgets it. The verifier reads it to prove that an alert reached the right receiver, and
can make one receiver refuse its notifications (503), as a receiver that is down does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from typing import Any

from loadtest.stack.json_http import BackgroundServer, JsonHandler
from loadtest.stack.sigterm import stop_on_sigterm

MAX_BODY_BYTES = 4 * 1024 * 1024


class NotificationLog:
    """Thread-safe list of received notifications."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []

    def add(self, hook: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._items.append({"hook": hook, "received_at": time.time(), "payload": payload})

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Handler(JsonHandler):
    server: AlertSink

    def do_POST(self) -> None:
        if not self.path.startswith("/hooks/") or len(self.path) <= len("/hooks/"):
            self._reply(404, {"error": "post notifications to /hooks/<receiver>"})
            return
        body = self._body(MAX_BODY_BYTES, "notification")
        if body is None:
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._reply(400, {"error": "the body is not JSON"})
            return
        hook = self.path.removeprefix("/hooks/")
        if hook in self.server.refused_hooks:
            self._reply(503, {"error": f"receiver {hook} is down (on purpose)"})
            return
        self.server.log.add(hook, payload)
        self._reply(200, {"status": "recorded"})

    def do_GET(self) -> None:
        if self.path == "/notifications":
            self._reply(200, self.server.log.all())
        elif self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": f"no such path {self.path}"})

    def do_DELETE(self) -> None:
        if self.path == "/notifications":
            self.server.log.clear()
            self._reply(200, {})
        else:
            self._reply(404, {"error": f"no such path {self.path}"})


class AlertSink(BackgroundServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.log = NotificationLog()
        self.refused_hooks: set[str] = set()  # receivers that answer 503 for now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.stack.alert_sink",
                                     description="Record Alertmanager webhook notifications.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    args = parser.parse_args(argv)
    try:
        sink = AlertSink(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"alert sink listening on {sink.url}", flush=True)
    stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        sink.serve_forever()
    sink.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
