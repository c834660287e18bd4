"""What the verifier's checks and Locust runs need of a stack, local or compose."""

from __future__ import annotations

from typing import Any, Protocol


class NotificationLog(Protocol):
    def all(self) -> list[dict[str, Any]]: ...


class Sink(Protocol):
    @property
    def log(self) -> NotificationLog: ...


class Stack(Protocol):
    """``LocalStack`` (loopback binaries) and ``ComposeStack`` (a Docker engine) both are, and
    so is ``TargetStack``, a user's own service (and Prometheus and Alertmanager, if given)."""

    @property
    def service_url(self) -> str: ...

    @property
    def sim_url(self) -> str: ...

    @property
    def control_url(self) -> str: ...

    @property
    def alertmanager_url(self) -> str: ...

    @property
    def sink(self) -> Sink | None:
        """The verifiers' alert sink; None on a user's own stack (``TargetStack``)."""

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]: ...

    def query_range(self, expr: str, start: float, end: float,
                    step: float = 0.5) -> list[dict[str, Any]]: ...
