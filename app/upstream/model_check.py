"""Which configured models Ollama has: ``GET /api/tags`` with the periodic health check, and
any call answered 404 "model ... not found" at once.

    >>> models = ModelAvailability(metrics, ["llama3.2", "nomic-embed-text"])
    >>> await models.check(http, timeout=5); models.missing  # {"llama3.2"} until pulled
"""

from __future__ import annotations

import logging

import httpx

from app.telemetry.metrics import Metrics

log = logging.getLogger(__name__)


def tagged(model: str) -> str:
    """Ollama's full name of a model: ``llama3.2`` is ``llama3.2:latest``."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def pull_advice(model: str) -> str:
    return f'Ollama does not have the model "{model}": run `ollama pull {model}` on its host'


class ModelAvailability:
    def __init__(self, metrics: Metrics, models: list[str]) -> None:
        self.metrics = metrics
        self.models = list(dict.fromkeys(models))
        self.missing: set[str] = set()

    def note_missing(self, model: str) -> None:
        if model in self.models and model not in self.missing:
            log.warning(pull_advice(model))
        self._set(model, available=False)

    def note_present(self, model: str) -> None:
        if model in self.missing:
            self._set(model, available=True)

    async def check(self, http: httpx.AsyncClient, timeout: float) -> None:
        """Ask Ollama for its models; says nothing when it cannot tell (the health check
        reports an Ollama that does not answer)."""
        try:
            response = await http.get("/api/tags", timeout=timeout)
            names = {str(item.get("name", "")) for item in response.json().get("models", [])
                     if isinstance(item, dict)}
        except (httpx.HTTPError, ValueError, AttributeError):
            return
        if response.status_code != 200:
            return
        for model in self.models:
            if model in names or tagged(model) in names:
                self._set(model, available=True)  # also the first report of a model there
            else:
                self.note_missing(model)

    def _set(self, model: str, *, available: bool) -> None:
        if model not in self.models:
            return
        (self.missing.discard if available else self.missing.add)(model)
        self.metrics.model_available.labels(model).set(1 if available else 0)
