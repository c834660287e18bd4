"""The load mix does what the scenarios rely on, with the simulator's embeddings."""

from __future__ import annotations

import itertools
import random

import numpy as np

from app.core.settings import Settings
from app.rag.semcache import question_key
from loadtest.scenarios.compose_plan import scenario
from loadtest.scenarios.plan import CACHE_WARM
from loadtest.scenarios.questions import (
    QUESTIONS,
    QUESTIONS_AND_PARAPHRASES,
    mix_question,
    new_question,
)
from loadtest.sim.text import embed_text

THRESHOLD = Settings().cache_similarity_threshold


def cosine(a: str, b: str) -> float:
    return float(np.dot(embed_text(a), embed_text(b)))


def test_paraphrases_are_semantic_hits_not_exact_ones() -> None:
    for question, paraphrase in QUESTIONS_AND_PARAPHRASES:
        assert question_key(question) != question_key(paraphrase)
        assert cosine(question, paraphrase) >= THRESHOLD, (question, paraphrase)


def test_distinct_questions_do_not_answer_each_other() -> None:
    questions = [q for q, _ in QUESTIONS_AND_PARAPHRASES]
    for a, b in itertools.combinations(questions, 2):
        assert cosine(a, b) < THRESHOLD, (a, b)


def test_new_questions_miss() -> None:
    rng = random.Random(1)
    fresh = [new_question(rng) for _ in range(200)]
    known = [q for pair in QUESTIONS_AND_PARAPHRASES for q in pair]
    for question in fresh[:50]:
        assert max(cosine(question, k) for k in known) < THRESHOLD
    for a, b in itertools.combinations(fresh[:40], 2):
        assert cosine(a, b) < THRESHOLD


def test_the_repeated_mix_asks_only_the_questions_the_warm_up_waits_to_see_cached() -> None:
    """The baseline's warm-up lasts until the cache holds len(QUESTIONS) entries: on a fresh
    service, that is every repeated question, as its mix asks nothing else."""
    warm_up = scenario("baseline").phases[0]
    assert warm_up.mix == "repeated" and warm_up.until == CACHE_WARM
    assert CACHE_WARM.at_least == len({question_key(q) for q in QUESTIONS})
    rng = random.Random(3)
    assert {mix_question("repeated", rng) for _ in range(500)} == set(QUESTIONS)
    assert {mix_question("normal", rng) for _ in range(500)} > set(QUESTIONS)
