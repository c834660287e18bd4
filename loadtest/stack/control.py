"""The control endpoint through which a Locust scenario asks its stack for actions
(``POST /actions/<name>``: stop the service, hide a target...), on loopback."""

from __future__ import annotations

from typing import Any

from loadtest.scenarios.model import ACTIONS
from loadtest.stack.json_http import BackgroundServer, JsonHandler


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


class ControlServer(BackgroundServer):
    """Serves ``stack``'s action methods; ``start()`` runs it in a thread.

    >>> control = ControlServer(stack).start()
    >>> httpx.post(f"{control.url}/actions/stop_service")
    """

    def __init__(self, stack: Any) -> None:
        super().__init__(("127.0.0.1", 0), _ControlHandler)
        self.stack = stack
