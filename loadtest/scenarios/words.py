"""A phase in words a person reads, from its faults, users, question mix and actions, as
``python -m loadtest run`` prints it when the phase starts::

    >>> phase_words(scenario("outage").phases[1])
    "the model's calls are refused at the connection (Ollama's server still answers); 8 users
    ask the usual mix of repeated, paraphrased and new questions"
"""

from __future__ import annotations

from loadtest.scenarios.model import Phase
from loadtest.scenarios.plan import MODEL_PATHS
from loadtest.sim.faults import FAST_MODEL

MODES = {
    "down": "{target} are refused at the connection",
    "error": "{target} get 500 errors",
    "timeout": "Ollama accepts {target} and never answers",
    "slow": "{target} take {slow:g} s more",
    "garbage": "{target} get malformed answers",
}
MIXES = {
    "normal": "the usual mix of repeated, paraphrased and new questions",
    "new_only": "only new questions",
    "streamed": "the usual mix, every answer streamed",
    "repeated": "only the repeated questions, to have them cached",
    "warm": "a few questions, to have them cached",
    "overload": "mostly new questions, a fifth cached ones, honouring Retry-After",
}
ACTIONS = {
    "clear_cache": "the cache is cleared", "stop_store": "the document store stops",
    "start_store": "the document store starts", "stop_service": "the service stops",
    "start_service": "the service starts", "throttle_service": "the service's CPU is cut",
    "unthrottle_service": "the service's CPU is given back",
}


def _faults(phase: Phase) -> list[str]:
    faults = phase.faults
    paths = faults.get("paths")
    target = ("the model's calls" if paths == MODEL_PATHS else
              "calls to " + ", ".join(paths) if paths else "all calls (/api/version included)")
    words = []
    mode = faults.get("mode", "ok")
    if mode in MODES:
        share = faults.get("error_rate", 1.0)
        text = MODES[mode].format(target=target, slow=faults.get("slow_ms", 0) / 1000)
        words.append(text if share >= 1 else f"{share:.0%} of {text}")
        if paths == MODEL_PATHS:
            words[-1] += " (Ollama's server still answers)"
    if "models" in faults:
        words.append("Ollama has only " + ", ".join(faults["models"]) + " pulled")
    if faults.get("parallel"):
        words.append(f"Ollama serves {faults['parallel']:g} calls per model at once and "
                     "queues the rest")
    if all(faults.get(k) == v for k, v in FAST_MODEL.items()):
        words.append("a small fast model answers")
    return words


def phase_words(phase: Phase) -> str:
    words = [ACTIONS.get(a, a.replace("_", " ")) for a in phase.actions]
    words += _faults(phase) or ["Ollama is healthy"]
    words.append(f"{phase.users} users ask {MIXES[phase.mix]}" if phase.users
                 else "nobody asks anything")
    if phase.until is not None:
        words.append(f"first until {phase.until.what}")
    return "; ".join(words)
