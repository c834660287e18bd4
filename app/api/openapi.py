"""The OpenAPI document of one app, with the limits its settings set.

The request models (``app/core/schemas.py``) are shared by every app; the limits that come from
the settings (``app/api/limits.py``) are written here into the app's own schema, so that
``/openapi.json`` tells clients the limits this instance enforces.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from app.api.limits import LIMITS
from app.core.schemas import StreamEvent
from app.core.settings import Settings

REF_TEMPLATE = "#/components/schemas/{model}"


def _constrain(prop: dict[str, Any], keywords: dict[str, int]) -> None:
    """Put the keywords on the property, or on its non-null branch when it is nullable."""
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    (branches[0] if branches else prop).update(keywords)


def _add_stream_events(models: dict[str, Any]) -> None:
    """The NDJSON lines of a streamed answer: no route returns the union as a model, so
    FastAPI does not list it by itself."""
    schema = TypeAdapter(StreamEvent).json_schema(ref_template=REF_TEMPLATE)
    for name, definition in schema.pop("$defs", {}).items():
        models.setdefault(name, definition)
    models["StreamEvent"] = schema


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` return the schema with this app's limits."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            models = schema["components"]["schemas"]
            _add_stream_events(models)
            for limit in LIMITS:
                _constrain(models[limit.model.__name__]["properties"][limit.field],
                           {limit.keyword: limit.bound(settings)})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
