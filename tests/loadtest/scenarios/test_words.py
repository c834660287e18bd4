"""Each phase in words a person reads, from its faults, users and mix."""

from __future__ import annotations

from loadtest.scenarios.compose_plan import scenario
from loadtest.scenarios.plan import SCENARIOS
from loadtest.scenarios.words import phase_words


def test_a_fault_is_said_in_words() -> None:
    outage = scenario("outage").phases[1]
    assert phase_words(outage) == (
        "the model's calls are refused at the connection (Ollama's server still answers); "
        "8 users ask the usual mix of repeated, paraphrased and new questions")
    assert phase_words(scenario("ollama-gone").phases[1]).endswith("nobody asks anything")
    assert "20% of the model's calls get malformed answers" in phase_words(
        scenario("malformed").phases[1])


def test_every_phase_has_words_and_no_raw_field_names() -> None:
    for plan in SCENARIOS:
        for phase in plan.phases:
            words = phase_words(phase)
            assert words and "{" not in words and "error_rate" not in words, (plan.name, words)
