"""Every error the service answers is JSON: ``{"error": code, "detail": message}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.breaker import CircuitOpenError
from app.ollama_client import UpstreamError

log = logging.getLogger("app")

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


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def error_response(status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status,
                        headers=headers)


def _describe_validation(errors: list[dict[str, Any]]) -> tuple[int, str, str, list[dict]]:
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "malformed_json", "the request body is not valid JSON", []
    simplified = [
        {"field": ".".join(str(part) for part in e.get("loc", ())[1:]) or "body",
         "problem": e.get("msg", "invalid")}
        for e in errors
    ]
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in simplified)
    return 422, "invalid_request", detail, simplified


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, detail, fields = _describe_validation(list(exc.errors()))
        extra = {"fields": fields} if fields else {}
        return error_response(status, code, detail, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(CircuitOpenError)
    async def _breaker_open(_: Request, exc: CircuitOpenError) -> JSONResponse:
        retry_after = max(1, math.ceil(exc.retry_after))
        return error_response(
            503, "circuit_open",
            "the upstream is failing and the circuit breaker is rejecting calls",
            headers={"Retry-After": str(retry_after)}, retry_after_seconds=retry_after,
        )

    @app.exception_handler(UpstreamError)
    async def _upstream(_: Request, exc: UpstreamError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, exc.message)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "the service failed; see its log")
