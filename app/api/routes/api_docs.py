"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc), with their scripts, style sheet and
icon served by the service itself (FastAPI's self-hosting recipe, with the files the
``fastapi-offline`` package ships): the pages load where no CDN can be reached.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from app.core.errors import ApiError

router = APIRouter(include_in_schema=False)

ASSETS_ROUTE = "/docs/assets"
_STATIC = Path(str(resources.files("fastapi_offline") / "static"))
# The only files served: a name from the request never reaches the file system otherwise.
ASSETS = {name: _STATIC / name for name in
          ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")}


def _asset(name: str) -> str:
    return f"{ASSETS_ROUTE}/{name}"


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} API",
        swagger_js_url=_asset("swagger-ui-bundle.js"), swagger_css_url=_asset("swagger-ui.css"),
        swagger_favicon_url=_asset("favicon.png"),
        # No badge that would ask validator.swagger.io to check the schema.
        swagger_ui_parameters={"validatorUrl": None})


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=request.app.openapi_url,
                          title=f"{request.app.title} API",
                          redoc_js_url=_asset("redoc.standalone.js"),
                          redoc_favicon_url=_asset("favicon.png"), with_google_fonts=False)


@router.get(ASSETS_ROUTE + "/{name}")
async def asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError(404, "not_found", f"no documentation asset named '{name}'")
    # Versioned with the package: a browser may keep it for a day.
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
