"""What Ollama itself is doing, as metrics: which models it has loaded, the memory they
hold, when it will unload them, how often it loads them and how long a load takes, and its
version. Ollama has no /metrics of its own; the service asks ``GET /api/ps`` with each
health check and reads the ``load_duration`` of every answer.

A load is counted once, however it is seen:

- an answer whose ``load_duration`` is at least ``cold_load_seconds`` (a loaded model's is
  milliseconds) was loaded for: counted, its duration observed; the calls that waited for
  the same load report it too (their loads end together) and are not counted again;
- a model newly listed by ``/api/ps`` whose load no answer has reported: counted when the
  next answer for it finds it loaded already (another client loaded it), or when it is
  unlisted before any answer; a model the service is not configured with, at once.

Models already loaded at the first poll were loaded before the service watched: not
counted. Each replica counts what it sees: loads in its own answers, and those only
``/api/ps`` shows.

Label values: the configured models as configured (``llama3.2``, matched to Ollama's
``llama3.2:latest``); every other model Ollama lists under ``other``.

    >>> state = OllamaState(metrics, ["llama3.2", "nomic-embed-text"], cold_load_seconds=0.1)
    >>> await state.poll(http, timeout=5)
    >>> state.note_answer("llama3.2", load_seconds=2.4, total_seconds=5.1)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel, NonNegativeInt, ValidationError

from app.core.labels import OTHER_MODEL, ModelMemory
from app.core.labels import UpstreamOutcome as Outcome
from app.telemetry.metrics import Metrics
from app.upstream.answers import classify_transport_error
from app.upstream.model_check import tagged


@dataclass
class LoadedModel:
    """One model ``/api/ps`` lists (or the sum of those under ``other``)."""

    count: int = 0
    size: int = 0
    size_vram: int = 0
    unload_seconds: float = 0.0


class PsModel(BaseModel):
    """One model in Ollama's ``GET /api/ps`` answer (the fields read here)."""

    name: str
    size: NonNegativeInt = 0
    size_vram: NonNegativeInt = 0
    expires_at: str | None = None


class PsAnswer(BaseModel):
    models: list[PsModel]


@dataclass
class PsSnapshot:
    models: dict[str, LoadedModel] = field(default_factory=dict)


def seconds_until(expires_at: object, now: datetime) -> float:
    """Seconds from ``now`` to Ollama's ``expires_at`` (RFC 3339, nanoseconds and all);
    0 when missing or unreadable."""
    if not isinstance(expires_at, str):
        return 0.0
    text = expires_at.replace("Z", "+00:00")
    # Python reads at most microseconds: cut Ollama's nanoseconds.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class OllamaState:
    def __init__(self, metrics: Metrics, models: list[str], cold_load_seconds: float) -> None:
        self.metrics = metrics
        self.models = list(dict.fromkeys(models))
        self.cold_load_seconds = cold_load_seconds
        self._by_full_name = {tagged(m): m for m in self.models}
        self._listed: set[str] | None = None  # labels listed at the previous poll
        self._loaded_by_answers: set[str] = set()  # labels answers said were loaded since
        # Labels newly listed, whose load no answer has reported yet: the next answer says
        # whether it was ours (counted then) or another's (counted then, as a load seen in
        # /api/ps), or the model goes unlisted first (counted then).
        self._listed_unexplained: set[str] = set()
        self._last_load_end: dict[str, float] = {}
        self._version: str | None = None

    def label(self, model: str) -> str:
        """The model label of a model name as Ollama or a setting writes it."""
        if model in self.models:
            return model
        return self._by_full_name.get(tagged(model), OTHER_MODEL)

    def note_answer(self, model: str, load_seconds: float | None,
                    total_seconds: float | None) -> None:
        """An answer for ``model`` reported ``load_seconds`` of load_duration (of
        ``total_seconds`` in all)."""
        if load_seconds is None or not math.isfinite(load_seconds):
            return
        label = self.label(model)
        if load_seconds < self.cold_load_seconds:  # it was loaded already
            if label in self._listed_unexplained:  # ...by someone else's call
                self._listed_unexplained.discard(label)
                self.metrics.ollama_model_loads.labels(label).inc()
            return
        # Calls that waited for the same load each report it: their loads ended together
        # (now, less what the call did after its load). A load of its own ends at least its
        # own length after the one before.
        ended = time.monotonic() - max(0.0, (total_seconds or load_seconds) - load_seconds)
        previous = self._last_load_end.get(label)
        if previous is not None and abs(ended - previous) < load_seconds / 2:
            return
        self._last_load_end[label] = ended
        self.metrics.ollama_model_loads.labels(label).inc()
        self.metrics.ollama_model_load_duration.labels(label).observe(load_seconds)
        self._loaded_by_answers.add(label)
        self._listed_unexplained.discard(label)

    def note_version(self, version: object) -> None:
        if isinstance(version, str) and version and version != self._version:
            self._version = version[:64]
            self.metrics.ollama_info.info({"version": self._version})

    async def poll(self, http: httpx.AsyncClient, timeout: float) -> Outcome:
        """Ask Ollama for its loaded models and publish them; an answer that cannot be read
        changes nothing (an Ollama too old for /api/ps answers 404: a client error)."""
        try:
            response = await http.get("/api/ps", timeout=timeout)
        except httpx.HTTPError as exc:
            return classify_transport_error(exc).outcome
        if response.status_code != 200:
            return Outcome.CLIENT_ERROR if response.status_code < 500 else Outcome.SERVER_ERROR
        try:
            snapshot = self._parse(response.json())
        except ValueError:
            snapshot = None
        if snapshot is None:
            return Outcome.MALFORMED
        self._publish(snapshot)
        return Outcome.SUCCESS

    def _parse(self, data: object) -> PsSnapshot | None:
        try:
            answer = PsAnswer.model_validate(data)
        except ValidationError:
            return None
        now = datetime.now(UTC)
        snapshot = PsSnapshot()
        for item in answer.models:
            model = snapshot.models.setdefault(self.label(item.name), LoadedModel())
            model.count += 1
            model.size += item.size
            model.size_vram += item.size_vram
            model.unload_seconds = max(model.unload_seconds, seconds_until(item.expires_at, now))
        return snapshot

    def _publish(self, snapshot: PsSnapshot) -> None:
        metrics = self.metrics
        labels = dict.fromkeys([*self.models, OTHER_MODEL])
        for label in labels:
            model = snapshot.models.get(label, LoadedModel())
            metrics.ollama_model_loaded.labels(label).set(model.count)
            metrics.ollama_model_memory.labels(label, ModelMemory.VRAM).set(model.size_vram)
            metrics.ollama_model_memory.labels(label, ModelMemory.TOTAL).set(model.size)
            metrics.ollama_model_unload.labels(label).set(model.unload_seconds)
        listed = set(snapshot.models)
        for label in self._listed_unexplained - listed:  # gone before any answer said
            metrics.ollama_model_loads.labels(label).inc()
        self._listed_unexplained &= listed
        if self._listed is not None:
            for label in listed - self._listed - self._loaded_by_answers:
                if label == OTHER_MODEL:  # no answer of ours will explain it
                    metrics.ollama_model_loads.labels(label).inc()
                else:
                    self._listed_unexplained.add(label)
        self._listed = listed
        self._loaded_by_answers.clear()

