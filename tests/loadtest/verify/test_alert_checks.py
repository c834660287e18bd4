"""The quiet phase's check reads notifications as Alertmanager's webhook sends them."""

from __future__ import annotations

import time

import httpx

from loadtest.stack.alert_sink import AlertSink
from loadtest.verify.alert_checks import firing_notices


def notification(status: str, *alerts: tuple[str, str]) -> dict:
    """A body in Alertmanager's webhook format (version 4), trimmed to what is read."""
    return {"version": "4", "status": status, "receiver": "ticket",
            "alerts": [{"status": state, "labels": {"alertname": name}}
                       for name, state in alerts]}


def test_a_resolved_notice_is_not_a_firing_but_a_firing_alert_beside_it_is() -> None:
    sink = AlertSink().start()
    try:
        start = time.time()
        for hook, body in (
                ("ticket", notification("resolved", ("LowCacheHitRate", "resolved"))),
                ("watchdog", notification("firing", ("Watchdog", "firing"))),
                ("pager", notification("firing", ("CircuitBreakerOpen", "firing"),
                                       ("HighFailureRate", "resolved")))):
            httpx.post(f"{sink.url}/hooks/{hook}", json=body, timeout=5).raise_for_status()
        received = sink.log.all()
    finally:
        sink.stop()
    assert firing_notices(received, start, time.time()) == [
        "notification to pager: ['CircuitBreakerOpen']"]
    assert firing_notices(received, time.time() + 1, time.time() + 2) == []
