"""What Ollama answers, parsed and checked: statuses, JSON bodies, chat statistics and
embeddings, each refusal raised as the upstream error it is; and the span attributes of a
call (OpenTelemetry's GenAI conventions).

    >>> check_status(response, response.content)
    >>> stats = chat_stats(parse_json(response.content))
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from app.core.errors import (
    ModelNotFound,
    OllamaBusy,
    UpstreamBadResponse,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamOverloaded,
    UpstreamRejectedRequest,
    UpstreamServerError,
    UpstreamTimeout,
)
from app.core.labels import LlmPhase, UpstreamOperation
from app.store.vectors import unit_rows

NANOSECONDS = 1e9


@dataclass
class ChatStats:
    """What Ollama reports at the end of a chat call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    phase_seconds: dict[LlmPhase, float] = field(default_factory=dict)
    total_seconds: float | None = None
    done_reason: str | None = None

    @property
    def working_seconds(self) -> float:
        """The time Ollama reports working on the call: its total less its load_duration
        (a model load, and its scheduler's wait for one)."""
        if self.total_seconds is None:
            return 0.0
        return max(0.0, self.total_seconds - self.phase_seconds.get(LlmPhase.LOAD, 0.0))

    @property
    def generation_seconds(self) -> float:
        """How long Ollama spent generating (its eval_duration; 0 when not reported): what a
        whole answer's duration holds beyond its time to first token."""
        return self.phase_seconds.get(LlmPhase.EVAL, 0.0)


def _ollama_at(exc: httpx.HTTPError) -> str:
    """``Ollama at http://host:port``: the address tried, for a failure's detail and log
    line (a wrong OLLAMA_RAG_OLLAMA_URL is the usual cause)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised before any request was built
        return "Ollama"
    return f"Ollama at {url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def classify_transport_error(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.PoolTimeout):  # a TimeoutException, but ours, not Ollama's
        return UpstreamOverloaded("no connection to Ollama came free in time: the service "
                                  "is overloaded; retry shortly")
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"{_ollama_at(exc)} did not answer in time "
                               f"({type(exc).__name__})")
    if isinstance(exc, httpx.DecodingError):
        return UpstreamBadResponse(f"{_ollama_at(exc)} sent a body that could not be decoded")
    reason = f": {exc}" if str(exc) else ""
    return UpstreamConnectionError(f"could not reach {_ollama_at(exc)} "
                                   f"({type(exc).__name__}{reason})")


# Ollama's words for a model it does not have: 'model "llama3.2" not found, try pulling it
# first' (older versions quote it with single quotes).
_MODEL_NOT_FOUND = re.compile(r"""model ["']([^"']+)["'] not found""")
# Ollama's words for a full queue (server/sched.go ErrMaxQueue): "server busy, please try
# again.  maximum pending requests exceeded".
_QUEUE_FULL = "maximum pending requests exceeded"


def check_status(response: httpx.Response, body: bytes) -> None:
    if response.status_code < 400:
        return
    detail = body[:200].decode("utf-8", "replace")
    with contextlib.suppress(ValueError, AttributeError):
        detail = str(json.loads(body).get("error", detail))[:200]
    missing = _MODEL_NOT_FOUND.search(detail)
    if response.status_code == 404 and missing is not None:
        raise ModelNotFound(missing.group(1))
    if response.status_code == 503 and _QUEUE_FULL in detail:
        raise OllamaBusy(f"Ollama's queue is full (OLLAMA_MAX_QUEUE): {detail}")
    if response.status_code < 500:
        raise UpstreamRejectedRequest(
            f"Ollama refused the request with {response.status_code}: {detail}"
        )
    raise UpstreamServerError(f"Ollama answered {response.status_code}: {detail}")


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UpstreamBadResponse("Ollama sent a body that is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamBadResponse("Ollama sent JSON that is not an object")
    if "error" in data:
        raise UpstreamServerError(f"Ollama reported an error: {str(data['error'])[:200]}")
    return data


def chat_stats(data: dict[str, Any]) -> ChatStats:
    def count(name: str) -> int:
        value = data.get(name, 0)
        return value if isinstance(value, int) and value >= 0 else 0

    phases = {
        phase: data[phase.ollama_field] / NANOSECONDS
        for phase in LlmPhase
        if isinstance(data.get(phase.ollama_field), int | float) and data[phase.ollama_field] >= 0
    }
    total = data.get("total_duration")
    reason = data.get("done_reason")
    return ChatStats(count("prompt_eval_count"), count("eval_count"), phases,
                     total / NANOSECONDS if isinstance(total, int | float) and total >= 0
                     else None,
                     reason if isinstance(reason, str) else None)


# The gen_ai operation (OpenTelemetry's GenAI conventions) of each traced upstream call; a
# chat is "chat" there as in our operation label.
GEN_AI_OPERATIONS = {UpstreamOperation.CHAT: UpstreamOperation.CHAT.value,
                     UpstreamOperation.CHAT_STREAM: UpstreamOperation.CHAT.value,
                     UpstreamOperation.EMBED: "embeddings"}


def stats_attributes(stats: ChatStats) -> dict[str, Any]:
    """What Ollama reported, as span attributes: tokens, and its own timings in seconds
    (it reports nanoseconds)."""
    attributes: dict[str, Any] = {"gen_ai.usage.input_tokens": stats.prompt_tokens}
    if stats.completion_tokens or stats.phase_seconds.get(LlmPhase.EVAL) is not None:
        attributes["gen_ai.usage.output_tokens"] = stats.completion_tokens
    for phase, seconds in stats.phase_seconds.items():
        attributes[f"ollama.{phase.ollama_field}_seconds"] = seconds
    if stats.total_seconds is not None:
        attributes["ollama.total_duration_seconds"] = stats.total_seconds
    if stats.done_reason is not None:
        attributes["gen_ai.response.finish_reasons"] = (stats.done_reason,)
    return attributes


def message_content(data: dict[str, Any]) -> str:
    message = data.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise UpstreamBadResponse("Ollama's chat answer has no message content")
    return content


def embeddings_of(data: dict[str, Any], expected_rows: int) -> np.ndarray:
    """The embeddings as unit rows: the one place where vectors are normalised."""
    rows = data.get("embeddings")
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise UpstreamBadResponse("Ollama's embeddings are not a matrix of numbers") from exc
    if matrix.ndim != 2 or matrix.shape[0] != expected_rows or matrix.shape[1] == 0:
        raise UpstreamBadResponse(
            f"Ollama returned embeddings of shape {matrix.shape}, expected {expected_rows} rows"
        )
    if not np.all(np.isfinite(matrix)):
        raise UpstreamBadResponse("Ollama's embeddings contain values that are not finite")
    return unit_rows(matrix)
