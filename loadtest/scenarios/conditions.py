"""A phase's condition (``Phase.until``), read from the service's own ``/metrics``."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from loadtest.scenarios.model import Until

log = logging.getLogger("loadtest")
POLL_SECONDS = 0.5


def read_sample(metrics_text: str, sample: str,
                labels: tuple[tuple[str, str], ...] = ()) -> float | None:
    """The value of ``sample`` carrying ``labels`` in a ``/metrics`` page (the largest, if
    several carry them), or None if the page has none."""
    values = [found.value for family in text_string_to_metric_families(metrics_text)
              for found in family.samples
              if found.name == sample and dict(labels).items() <= found.labels.items()]
    return max(values, default=None)


def sample_value(metrics_text: str, until: Until) -> float | None:
    """The value of ``until``'s sample in a ``/metrics`` page (see ``read_sample``)."""
    return read_sample(metrics_text, until.sample, until.labels)


def wait_until(service_url: str, until: Until) -> bool:
    """Read the service's ``/metrics`` every half second until ``until`` is met (True) or
    its ``within`` seconds pass (False). In a Locust process ``time.sleep`` is gevent's."""
    deadline = time.monotonic() + until.within
    while True:
        try:
            with urllib.request.urlopen(f"{service_url}/metrics", timeout=5) as response:
                value = sample_value(response.read().decode(), until)
        except (urllib.error.URLError, OSError) as exc:
            log.warning("reading %s/metrics failed: %s", service_url, exc)
            value = None
        if value is not None and value >= until.at_least:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
