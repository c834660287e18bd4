"""The Locust user of every scenario, run headless for a moment against the real service
and the simulator."""

from __future__ import annotations

from pathlib import Path

from loadtest.verify.client_checks import locust_stats
from tests.loadtest.headless import run_rag_users
from tests.servers import ServiceThread


def test_a_runs_first_user_ingests_a_document_and_asks_for_an_embedding_at_once(
        service: ServiceThread, tmp_path: Path) -> None:
    # The rare tasks are drawn at random (1 and 2 in 63): a one-second run of two users
    # seldom draws them, so these counts come from the first user's start.
    made = locust_stats(run_rag_users(service.url, tmp_path, users=2, seconds=1))
    assert made["/api/documents"]["requests"] >= 1, made
    assert made["/v1/embeddings"]["requests"] >= 1, made
    # Asked before the first /v1 call; two users asking at the same moment may both ask.
    assert made["/v1/models"]["requests"] >= 1
    assert not any(named["failures"] for named in made.values()), made
