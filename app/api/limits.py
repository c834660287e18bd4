"""The request limits that come from the settings: one table that the routes enforce and
``app/api/openapi.py`` writes into the app's schema, so the two cannot disagree.

    >>> check_limits(QueryRequest(question="x" * 9000), Settings())  # raises ApiError (422)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.core.errors import ApiError
from app.core.schemas import DocumentsRequest, QueryRequest
from app.core.settings import Settings

SIZED = ("maxLength", "maxItems")  # keywords that bound a length, not a value


@dataclass(frozen=True)
class Limit:
    """A field of a request model, bounded by a setting (JSON Schema's ``keyword``)."""

    model: type[BaseModel]
    field: str
    keyword: str  # maxLength, maxItems or maximum
    setting: str
    problem: str  # what the 422 says, with ``{bound}``

    def bound(self, settings: Settings) -> int:
        bound: int = getattr(settings, self.setting)
        return bound

    def exceeded_by(self, value: Any, settings: Settings) -> bool:
        if value is None:
            return False
        size = len(value) if self.keyword in SIZED else value
        return bool(size > self.bound(settings))


LIMITS: tuple[Limit, ...] = (
    Limit(QueryRequest, "question", "maxLength", "max_question_chars",
          "longer than {bound} characters"),
    Limit(QueryRequest, "top_k", "maximum", "max_top_k", "must be between 1 and {bound}"),
    Limit(DocumentsRequest, "documents", "maxItems", "max_documents_per_request",
          "at most {bound} a request"),
)


def check_limits(body: BaseModel, settings: Settings) -> None:
    """Refuse (422) a request over any limit of its model."""
    for limit in LIMITS:
        if isinstance(body, limit.model) and limit.exceeded_by(getattr(body, limit.field),
                                                               settings):
            problem = limit.problem.format(bound=limit.bound(settings))
            raise ApiError(422, "invalid_request", f"{limit.field}: {problem}")
