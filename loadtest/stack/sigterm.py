"""Stop on SIGTERM as on Ctrl-C.

In a container the command is PID 1, and the kernel delivers no signal to PID 1 that it has
no handler for: without one, ``docker stop`` waits its 10 seconds and kills.
"""

from __future__ import annotations

import signal
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread, as SIGINT does."""
    signal.signal(signal.SIGTERM, _interrupt)
