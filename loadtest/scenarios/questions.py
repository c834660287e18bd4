"""The question mix of the load scenarios: repeated questions (exact hits), paraphrases
(semantic hits with the simulator's embeddings), new questions (misses) and documents."""

from __future__ import annotations

import random
import string

# Questions users ask again and again, each with a paraphrase that the simulator embeds
# within the default similarity threshold of 0.9
# (tests/loadtest/scenarios/test_questions.py checks it).
QUESTIONS_AND_PARAPHRASES: tuple[tuple[str, str], ...] = (
    ("What does a circuit breaker do when it is half-open?",
     "What does the circuit breaker do when it is half open?"),
    ("How does the semantic cache decide that two questions match?",
     "How does a semantic cache decide that two questions match?"),
    ("Which port does Ollama listen on by default?",
     "Which port does Ollama listen on by default, please?"),
    ("How are documents split into chunks before embedding?",
     "How are the documents split into chunks before embedding?"),
    ("What happens when the semantic cache is full?",
     "What happens when a semantic cache is full?"),
    ("How does Prometheus scrape the service metrics?",
     "How does Prometheus scrape the service's metrics?"),
    ("What is a multi-window multi-burn-rate alert?",
     "What is a multi window, multi burn rate alert?"),
    ("Why does a cold model load take tens of seconds?",
     "Why does a cold model load take tens of seconds to finish?"),
    ("How does retrieval-augmented generation answer a question?",
     "How does retrieval augmented generation answer a question?"),
    ("When does the circuit breaker close again after an outage?",
     "When does a circuit breaker close again after an outage?"),
    ("What does Alertmanager do with the alerts that fire?",
     "What does the Alertmanager do with alerts that fire?"),
    ("How many tokens did the prompt evaluation count?",
     "How many tokens did prompt evaluation count?"),
)
QUESTIONS = tuple(q for q, _ in QUESTIONS_AND_PARAPHRASES)
PARAPHRASES = tuple(p for _, p in QUESTIONS_AND_PARAPHRASES)


def new_question(rng: random.Random) -> str:
    """A question nobody asked before: made-up words share few trigrams with anything."""
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9)))
             for _ in range(rng.randint(5, 8))]
    return " ".join(words).capitalize() + "?"


def mix_question(mix: str, rng: random.Random) -> str:
    """A question of ``mix`` (loadtest/scenarios/model.py's MIXES but the overload ones):
    ``new_only`` a new one; ``repeated`` a repeated one; else half repeated, a fifth
    paraphrased, the rest new."""
    if mix == "new_only":
        return new_question(rng)
    if mix == "repeated":
        return rng.choice(QUESTIONS)
    draw = rng.random()
    if draw < 0.5:
        return rng.choice(QUESTIONS)
    if draw < 0.7:
        return rng.choice(PARAPHRASES)
    return new_question(rng)


def new_document(rng: random.Random) -> dict[str, str]:
    topic = "".join(rng.choices(string.ascii_lowercase, k=8))
    text = (f"The {topic} service keeps its records for thirty days. Requests to {topic} "
            f"are answered from the nearest replica, and failures of {topic} are retried "
            f"three times before an operator is paged.")
    return {"text": text, "source": f"loadtest/{topic}.md"}
