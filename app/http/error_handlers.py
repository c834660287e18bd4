"""Every error becomes a JSON body, ``{"error": code, "detail": message}`` (the
``ErrorBody`` schema), or on ``/v1`` OpenAI's ``{"error": {"message", "type", "param",
"code"}}`` (``OpenAIErrorBody``) with the same status and headers: the one place where
exceptions are mapped to answers."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from app.core.errors import ApiError, CircuitOpenError, Overloaded, StoreUnavailable, UpstreamError
from app.core.openai_schemas import API_ERROR_TYPE, OpenAIError, OpenAIErrorBody
from app.core.schemas import ErrorBody, FieldProblem
from app.telemetry.request_context import note_error

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


OPENAI_PREFIX = "/v1/"
# OpenAI's error types, by status; any other is invalid_request_error (4xx) or
# API_ERROR_TYPE (5xx).
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 429: "rate_limit_error"}


def openai_error(status: int, body: ErrorBody) -> OpenAIErrorBody:
    """The error in OpenAI's shape: its type by status, the service's code as ``code``."""
    kind = _OPENAI_TYPES.get(status, "invalid_request_error" if status < 500
                             else API_ERROR_TYPE)
    param = body.fields[0].field if body.fields else None
    return OpenAIErrorBody(error=OpenAIError(message=body.detail, type=kind, param=param,
                                             code=body.error))


class ErrorResponse(JSONResponse):
    """An error answer, in the shape its path's clients read: decided when it is sent,
    because the drain and body-limit answers are made before any route is known."""

    def __init__(self, status: int, body: ErrorBody,
                 headers: dict[str, str] | None = None) -> None:
        self.error_body = body
        super().__init__(body.model_dump(exclude_none=True), status_code=status,
                         headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path", "").startswith(OPENAI_PREFIX):
            self.body = self.render(openai_error(self.status_code,
                                                 self.error_body).model_dump())
            self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


def error_response(status: int, code: str, detail: str, *,
                   headers: dict[str, str] | None = None,
                   fields: list[FieldProblem] | None = None,
                   retry_after_seconds: int | None = None) -> ErrorResponse:
    """The JSON error body; with ``retry_after_seconds``, also its Retry-After header. The
    code is noted for the request's access log line and server span."""
    note_error(code, detail)
    body = ErrorBody(error=code, detail=detail, fields=fields,
                     retry_after_seconds=retry_after_seconds)
    if retry_after_seconds is not None:
        headers = {**(headers or {}), "Retry-After": str(retry_after_seconds)}
    return ErrorResponse(status, body, headers)


def _describe_validation(errors: list[dict[str, Any]]) -> JSONResponse:
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    fields = [
        FieldProblem(field=".".join(str(part) for part in e.get("loc", ())[1:]) or "body",
                     problem=e.get("msg", "invalid"))
        for e in errors
    ]
    detail = "; ".join(f"{f.field}: {f.problem}" for f in fields)
    return error_response(422, "invalid_request", detail, fields=fields)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.detail, headers=exc.headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _describe_validation(list(exc.errors()))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail),
                          headers=getattr(exc, "headers", None))


async def _breaker_open(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CircuitOpenError)
    retry_after = max(1, math.ceil(exc.retry_after))
    return error_response(
        503, CircuitOpenError.code,
        "the upstream is failing and the circuit breaker is rejecting calls",
        retry_after_seconds=retry_after,
    )


async def _overloaded(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Overloaded)
    return error_response(503, Overloaded.code, exc.detail, retry_after_seconds=exc.retry_after)


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreUnavailable)
    return error_response(503, StoreUnavailable.code, exc.detail,
                          retry_after_seconds=exc.retry_after)


async def _upstream(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UpstreamError)
    return error_response(exc.http_status, exc.code, exc.message,
                          retry_after_seconds=exc.retry_after)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "the service failed; see its log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(CircuitOpenError, _breaker_open)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(UpstreamError, _upstream)
    app.add_exception_handler(Exception, _unexpected)
