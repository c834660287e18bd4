"""What routes depend on: the app's components, and the bearer tokens that guard some of
them.

    >>> @router.get("/api/breaker")
    ... async def breaker(parts: PartsDep) -> BreakerStatus: ...
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from app.components import Components
from app.core.errors import ApiError


async def get_components(request: Request) -> Components:
    """The components of the app serving the request (one set per app, no globals).
    ``async`` although it does not wait: FastAPI runs a plain ``def`` dependency in a
    worker thread, a round trip that cost a quarter of a cache hit's CPU."""
    components: Components = request.app.state.components
    return components


PartsDep = Annotated[Components, Depends(get_components)]

# Declares the bearer scheme in OpenAPI; the check is ours, so that every refusal is JSON.
bearer_scheme = HTTPBearer(auto_error=False, description="OLLAMA_RAG_ADMIN_TOKEN")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def check_bearer(request: Request, token: SecretStr | None, what: str) -> None:
    """401 without a bearer token or with a wrong one; 403 when the endpoint is disabled
    (no token configured) for a request that did authenticate."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    unauthorized = ApiError(401, "unauthorized", f"{what} needs a valid bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    if scheme.lower() != "bearer" or not given:
        raise unauthorized
    if token is None:
        raise ApiError(403, "forbidden", f"{what} is disabled: no token is configured")
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise unauthorized


async def require_admin(request: Request, parts: PartsDep, _: BearerDep) -> None:
    check_bearer(request, parts.settings.admin_token, "clearing the cache")


AdminDep = Depends(require_admin)
