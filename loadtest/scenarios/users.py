"""The Locust user of every scenario: the realistic question mix, with the share of new
questions set by the scenario's current phase."""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, events, task

from loadtest.scenarios.final_stats import write_final_stats
from loadtest.scenarios.model import MIXES
from loadtest.scenarios.openai_traffic import (
    EMBEDDINGS_WEIGHT,
    OPENAI_SHARE,
    OPENAI_STREAM_SHARE,
)
from loadtest.scenarios.questions import mix_question, new_document, new_question
from loadtest.scenarios.timetable import SPEEDS


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
                        help="real: phases long enough for the service's own clocks; "
                             "compressed: the lengths written in the plan, for the verifiers' "
                             "compressed rules")
    parser.add_argument("--phase-seconds", default="",
                        help="each phase's seconds, comma-separated (the timetable that "
                             "python -m loadtest run planned)")
    parser.add_argument("--admin-token", default="", env_var="OLLAMA_RAG_ADMIN_TOKEN",
                        help="the service's admin token, to clear its cache where a scenario "
                             "does")
    parser.add_argument("--control-url", default="",
                        help="the local stack's control endpoint, for actions such as "
                             "stopping the service; without it those are logged for you to do")


class Run:
    """This process's run (a Locust process plays one scenario): its environment, kept to
    write the final statistics, and whether a user has started yet."""

    environment: Any = None
    started = False

    @classmethod
    def first_user(cls) -> bool:
        first, cls.started = not cls.started, True
        return first


@events.init.add_listener
def _keep_environment(environment: Any, **_: Any) -> None:
    Run.environment = environment


@events.quit.add_listener
def _write_final_stats(**_: Any) -> None:
    # Fired after the users have stopped (each finishing its request): the figures are final.
    environment = Run.environment
    prefix = getattr(environment.parsed_options, "csv_prefix", None) if environment else None
    if prefix:
        write_final_stats(environment.stats, prefix)


# The questions the warm-up asks: new ones, so that each is cached as itself, not matched to
# a paraphrase answered before.
WARM_QUESTIONS = tuple(new_question(random.Random(seed)) for seed in range(10))
# Those the service was seen to cache as themselves: answered 200 as a miss (and so stored)
# or an exact hit. The overload mix repeats only these as "(cached)": whether the warm-up
# happened to ask a question, and see it answered, before the overload began is not left to
# chance, and a warm question that a semantic hit answered is not taken for stored.
CACHED_WARM: set[str] = set()


def _classify(response: Any, cached: bool) -> tuple[str, str]:
    """What an answer was under overload, and what is wrong with it ("" if nothing)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    status = response.status_code
    if cached:
        result = body.get("cache", {}).get("result") if status == 200 else None
        return "cached", "" if result == "exact" else f"{status} {body.get('error', result)}"
    if status == 200:
        return "answered", ""
    if status == 503 and body.get("error") == "overloaded":
        return "shed", ""
    return "failed", f"{status} {body.get('error', '')}"


def _name_failure(response: Any) -> None:
    """A failed answer is reported by its status and the service's error code (``503
    circuit_open``), so that a run's errors read by kind."""
    if response.status_code < 400:
        response.success()
        return
    try:
        code = response.json().get("error", "")
    except ValueError:
        code = "" if response.status_code else str(response.error)
    if isinstance(code, dict):  # /v1's errors: OpenAI's shape, the service's code inside
        code = code.get("code", "")
    response.failure(f"{response.status_code} {code}".strip())


def _stored_as_itself(response: Any) -> bool:
    try:
        result = response.json().get("cache", {}).get("result")
    except ValueError:
        return False
    return response.status_code == 200 and result in ("miss", "exact")


class OpenAIModels:
    """The model ids ``GET /v1/models`` lists (answers, embeddings), asked once a run."""

    rag: str = ""
    embed: str = ""

    @classmethod
    def known(cls, client: Any) -> bool:
        if not cls.rag:
            with client.get("/v1/models", name="/v1/models", catch_response=True) as listed:
                listed.success()  # a service that is down is another scenario's concern
                if listed.status_code == 200:
                    ids = [model["id"] for model in listed.json()["data"]]
                    cls.rag = next((i for i in ids if i.startswith("ollama-rag/")), "")
                    cls.embed = next((i for i in ids if not i.startswith("ollama-rag/")), "")
        return bool(cls.rag)


class RagUser(FastHttpUser):
    """Half repeated questions, a fifth paraphrases, the rest new; one in ten streamed; a
    quarter through the OpenAI-compatible API (openai_traffic.py); now and then a document
    or an embedding, and one of each as the run's first user starts.

    A caller waits up to 2 minutes for an answer, longer than the service's read timeout
    (60 s): one that gave up first would cancel the call (app/http/disconnect.py) before the
    service could see Ollama time out.

    >>> # in a locustfile: from loadtest.scenarios.users import RagUser
    """

    network_timeout = 120.0
    connection_timeout = 120.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.backoff = 0.0
        if Run.first_user():
            # The rare tasks are drawn at random: a short run may draw none (in compose's
            # 50-s baseline about four ingests are expected, none in one run in fifty), so
            # the first user makes one of each and the baseline's moves never rest on luck.
            self.ingest()
            self.embed()

    def wait_time(self) -> float:
        # A 503's Retry-After is honoured in the overload mix, as a well-behaved client does.
        pause, self.backoff = self.backoff, 0.0
        return pause or self.rng.uniform(0.1, 0.3)

    @task(60)
    def ask(self) -> None:
        if QuestionMix.current in ("warm", "overload"):
            self._ask_under_overload()
            return
        question = mix_question(QuestionMix.current, self.rng)
        if self.rng.random() < OPENAI_SHARE and OpenAIModels.known(self.client):
            self._ask_openai(question)
            return
        stream = QuestionMix.current == "streamed" or self.rng.random() < 0.1
        with self.client.post("/api/query", json={"question": question, "stream": stream},
                              name="/api/query (stream)" if stream else "/api/query",
                              catch_response=True) as response:
            _name_failure(response)

    def _ask_openai(self, question: str) -> None:
        stream = QuestionMix.current == "streamed" or self.rng.random() < OPENAI_STREAM_SHARE
        body: dict[str, Any] = {"model": OpenAIModels.rag, "stream": stream,
                                "messages": [{"role": "user", "content": question}]}
        if stream:
            body["stream_options"] = {"include_usage": True}
        name = "/v1/chat/completions (stream)" if stream else "/v1/chat/completions"
        with self.client.post("/v1/chat/completions", json=body, name=name,
                              catch_response=True) as response:
            _name_failure(response)

    def _ask_under_overload(self) -> None:
        """Ask, and report the answer under what it was: ``(cached)`` a question the
        warm-up saw cached, which must come back 200 from the cache; ``(answered)``,
        ``(shed)`` (503 overloaded) or ``(failed)`` (anything else) a new one."""
        warm = QuestionMix.current == "warm"
        if warm:  # those not seen cached yet first
            pending = [q for q in WARM_QUESTIONS if q not in CACHED_WARM]
            question = self.rng.choice(pending or WARM_QUESTIONS)
        cached = not warm and bool(CACHED_WARM) and self.rng.random() < 0.2
        if cached:
            question = self.rng.choice(sorted(CACHED_WARM))
        elif not warm:
            question = new_question(self.rng)
        with self.client.post("/api/query", json={"question": question},
                              catch_response=True) as response:
            if warm and _stored_as_itself(response):
                CACHED_WARM.add(question)
            kind, problem = _classify(response, cached)
            response.request_meta["name"] = f"/api/query ({'warm-up' if warm else kind})"
            if problem and not warm:
                response.failure(problem)
            else:
                response.success()
            if response.status_code == 503:
                # Jittered, as a well-behaved client's backoff is: callers shed together
                # that all came back at the same millisecond would be a herd real callers
                # are not (each arrives when its own user asks).
                retry_after = float(response.headers.get("Retry-After") or 1)
                self.backoff = retry_after * self.rng.uniform(1.0, 1.5)

    @task(EMBEDDINGS_WEIGHT)
    def embed(self) -> None:
        if not OpenAIModels.known(self.client):
            return
        texts = [new_question(self.rng) for _ in range(self.rng.randint(1, 4))]
        with self.client.post("/v1/embeddings", json={"model": OpenAIModels.embed,
                                                      "input": texts},
                              catch_response=True) as response:
            _name_failure(response)

    @task(1)
    def ingest(self) -> None:
        with self.client.post("/api/documents", json={"documents": [new_document(self.rng)]},
                              catch_response=True) as response:
            _name_failure(response)
