"""The control endpoint through which a Locust scenario asks its stack for actions
(``POST /actions/<name>``: stop the service, hide a target...), on loopback."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any

from loadtest.scenarios.plan import ACTIONS
from loadtest.stack.json_http import JsonHandler


class _ControlHandler(JsonHandler):
    server: ControlServer

    def do_POST(self) -> None:
        action = self.path.removeprefix("/actions/")
        handler = getattr(self.server.stack, action, None) if action in ACTIONS else None
        if handler is None:
            status, body = 404, {"error": f"unknown action {action}"}
        else:
            try:
                handler()
                status, body = 200, {"done": action}
            except Exception as exc:  # reported to the scenario, which logs it
                status, body = 500, {"error": f"{action} failed: {exc}"}
        self._reply(status, body)


class ControlServer(ThreadingHTTPServer):
    """Serves ``stack``'s action methods; ``start()`` runs it in a thread.

    >>> control = ControlServer(stack).start()
    >>> httpx.post(f"{control.url}/actions/stop_service")
    """

    daemon_threads = True

    def __init__(self, stack: Any) -> None:
        super().__init__(("127.0.0.1", 0), _ControlHandler)
        self.stack = stack

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ControlServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
