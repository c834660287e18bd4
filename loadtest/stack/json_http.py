"""Small ``http.server`` pieces the stack's helper servers share (the alert sink, the trace
receiver, the local stack's control endpoint): a quiet handler that answers JSON and reads a
bounded body, and a server that serves from a thread of its own.

    >>> server = BackgroundServer(("127.0.0.1", 0), handler).start()  # on server.url
    >>> server.stop()
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self, max_bytes: int, what: str) -> bytes | None:
        """The request's body; None, after answering 413, when it is over ``max_bytes``."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > max_bytes:
            self._reply(413, {"error": f"{what} too large"})
            return None
        return self.rfile.read(length)


class BackgroundServer(ThreadingHTTPServer):
    """A threading HTTP server that ``start()`` serves from a daemon thread."""

    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
