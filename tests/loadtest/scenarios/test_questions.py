"""The load mix does what the scenarios rely on, with the simulator's embeddings."""

from __future__ import annotations

import itertools
import random

import numpy as np

from app.core.settings import Settings
from app.rag.semcache import question_key
from loadtest.scenarios.questions import QUESTIONS_AND_PARAPHRASES, new_question
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
