"""Starve a process of CPU as a container's CPU limit does: stopped (SIGSTOP) for part of
every period, then continued (SIGCONT), until told to stop.

    >>> throttle = CpuThrottle(pid, stopped=0.3, period=1.0).start()
    >>> throttle.stop()  # the process runs freely again
"""

from __future__ import annotations

import os
import signal
import threading


class CpuThrottle:
    def __init__(self, pid: int, stopped: float = 0.3, period: float = 1.0) -> None:
        if not 0 < stopped < period:
            raise ValueError("the stopped time must be shorter than the period")
        self.pid = pid
        self.stopped = stopped
        self.period = period
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> CpuThrottle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=self.period * 2)
        self._signal(signal.SIGCONT)  # whatever happened, never leave it stopped

    def _run(self) -> None:
        while not self._done.is_set():
            self._signal(signal.SIGSTOP)
            self._done.wait(self.stopped)
            self._signal(signal.SIGCONT)
            self._done.wait(self.period - self.stopped)

    def _signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            self._done.set()  # the process is gone: nothing to throttle
