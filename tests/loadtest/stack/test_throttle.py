"""The CPU throttle the cpu-starved scenario uses."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadtest.stack.throttle import CpuThrottle


def test_the_throttle_stops_and_continues_a_process_and_leaves_it_running() -> None:
    child = subprocess.Popen([sys.executable, "-c",
                              "import time\nwhile True: time.sleep(0.005)"])
    try:
        throttle = CpuThrottle(child.pid, stopped=0.2, period=0.3).start()
        states = set()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            states.add(Path(f"/proc/{child.pid}/stat").read_text().split()[2])
            time.sleep(0.01)
        throttle.stop()
        assert "T" in states and states - {"T"}  # stopped, and running between the stops
        time.sleep(0.1)
        assert Path(f"/proc/{child.pid}/stat").read_text().split()[2] != "T"
    finally:
        child.kill()
        child.wait()


def test_the_throttle_refuses_a_stop_as_long_as_its_period() -> None:
    with pytest.raises(ValueError, match="shorter than the period"):
        CpuThrottle(1, stopped=1.0, period=1.0)
