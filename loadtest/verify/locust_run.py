"""Play one scenario with Locust in a child process and collect its phase marks."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from loadtest.scenarios.final_stats import final_stats_path
from loadtest.scenarios.model import PHASE_MARK, Scenario
from loadtest.stack.interface import Stack

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILES = ROOT / "loadtest" / "scenarios" / "locustfiles"
Progress = Callable[[str], None]


def locustfile(scenario: Scenario) -> Path:
    return LOCUSTFILES / f"{scenario.name.replace('-', '_')}.py"


def csv_prefix(workdir: Path, scenario: Scenario) -> Path:
    """Where Locust writes its statistics per request name (``<prefix>_stats.csv``... and
    ``<prefix>_final.json``)."""
    return workdir / f"locust-{scenario.name}"


def _argv(stack: Stack, scenario: Scenario, workdir: Path, seconds: tuple[float, ...],
          options: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile(scenario)),
            "--headless", "--host", stack.service_url, "--sim-url", stack.sim_url,
            "--control-url", stack.control_url, "--only-summary",
            "--phase-seconds", ",".join(f"{s:g}" for s in seconds),
            "--loglevel", "WARNING", "--csv", str(csv_prefix(workdir, scenario)), *options]


def _split_output(process: subprocess.Popen[str], log: IO[str],
                  marks: queue.Queue[str]) -> threading.Thread:
    """Phase marks go to ``marks``, everything else to the log."""
    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(PHASE_MARK):
                marks.put(line.removeprefix(PHASE_MARK))
            else:
                log.write(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _follow(process: subprocess.Popen[str], scenario: Scenario, marks: queue.Queue[str],
            phases: dict[str, float], say: Progress, stop_when: Callable[[], bool] | None,
            longest: float, on_tick: Callable[[dict[str, float]], None] | None) -> None:
    """Record each phase mark until Locust ends, the deadline passes or ``stop_when()``."""
    deadline = time.time() + longest + 60
    while process.poll() is None and time.time() < deadline:
        try:
            mark = json.loads(marks.get(timeout=0.5))
            phases[mark["phase"]] = mark["at"]
            if on_tick is None:
                say(f"{scenario.name}: {mark['phase']}")
        except queue.Empty:
            pass
        if on_tick is not None:
            on_tick(phases)
        if stop_when is not None and phases and stop_when():
            say(f"{scenario.name}: ended early, nothing left to wait for")
            return


def run_locust(stack: Stack, scenario: Scenario, workdir: Path, say: Progress,
               stop_when: Callable[[], bool] | None = None, *,
               seconds: tuple[float, ...] | None = None, options: tuple[str, ...] = (),
               on_tick: Callable[[dict[str, float]], None] | None = None,
               ) -> tuple[dict[str, float], str]:
    """Play the scenario, each phase lasting its ``seconds`` (as written if not given);
    returns its phase start times and the Locust log's path. ``options`` go to Locust as
    they are.

    ``stop_when``, checked every half second once the scenario started, ends it early;
    ``on_tick`` is called every half second with the phases started so far (instead of a
    line per phase).
    """
    seconds = seconds or tuple(p.seconds for p in scenario.phases)
    longest = sum(seconds) + sum(p.until.within for p in scenario.phases if p.until)
    log_path = workdir / f"locust-{scenario.name}.log"
    marks: queue.Queue[str] = queue.Queue()
    phases: dict[str, float] = {}
    # A run in the same work directory before this one left its final figures there.
    final_stats_path(csv_prefix(workdir, scenario)).unlink(missing_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(_argv(stack, scenario, workdir, seconds, options),
                                   stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        reader = _split_output(process, log, marks)
        try:
            _follow(process, scenario, marks, phases, say, stop_when, longest, on_tick)
        finally:
            _stop(process)
            reader.join(5)
    while not marks.empty():
        mark = json.loads(marks.get())
        phases[mark["phase"]] = mark["at"]
    if scenario.phases[0].name not in phases:
        raise RuntimeError(f"locust did not start scenario {scenario.name} "
                           f"(status {process.returncode}); see its log:\n"
                           + log_path.read_text()[-2000:])
    phases.setdefault("end", time.time())
    return phases, str(log_path)
