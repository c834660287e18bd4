"""The Locust user of every scenario: the realistic question mix, with the share of new
questions set by the scenario's current phase."""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, between, events, task

from loadtest.scenarios.compression import SPEEDS
from loadtest.scenarios.model import MIXES
from loadtest.scenarios.questions import PARAPHRASES, QUESTIONS, new_document, new_question


class QuestionMix:
    """Which mix of questions the users ask now; the load shape changes it per phase."""

    current = MIXES[0]

    @classmethod
    def set(cls, mix: str) -> None:
        if mix not in MIXES:
            raise ValueError(f"unknown question mix {mix!r}")
        cls.current = mix


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--sim-url", default="http://127.0.0.1:11434",
                        help="the simulated Ollama whose faults the scenario sets")
    parser.add_argument("--time-scale", choices=SPEEDS, default="real",
                        help="real: phases long enough for the repository's rules as they "
                             "are (compose); compressed: for the live runs' compressed rules")
    parser.add_argument("--control-url", default="",
                        help="the local stack's control endpoint, for actions such as "
                             "stopping the service; without it those are logged for you to do")


class RagUser(FastHttpUser):
    """Half repeated questions, a fifth paraphrases, the rest new; one in ten streamed;
    now and then a document.

    >>> # in a locustfile: from loadtest.scenarios.users import RagUser
    """

    wait_time = between(0.1, 0.3)

    def on_start(self) -> None:
        self.rng = random.Random()

    def _question(self) -> str:
        if QuestionMix.current == "new_only":
            return new_question(self.rng)
        draw = self.rng.random()
        if draw < 0.5:
            return self.rng.choice(QUESTIONS)
        if draw < 0.7:
            return self.rng.choice(PARAPHRASES)
        return new_question(self.rng)

    @task(60)
    def ask(self) -> None:
        stream = QuestionMix.current == "streamed" or self.rng.random() < 0.1
        self.client.post("/api/query", json={"question": self._question(), "stream": stream},
                         name="/api/query (stream)" if stream else "/api/query")

    @task(1)
    def ingest(self) -> None:
        self.client.post("/api/documents", json={"documents": [new_document(self.rng)]})
