"""What the ``ollama`` CLI and client send to manage models, on the simulator:
``POST /api/pull`` (streamed progress, then the model is listed), ``DELETE /api/delete`` and
``POST /api/copy``, with Ollama's answers (server/routes.go) for a model it does not have.

    >>> admin = ModelAdmin(faults); await admin.pull(request, writer)
"""

from __future__ import annotations

import asyncio
from typing import Any

from loadtest.sim import models as catalog
from loadtest.sim.faults import Faults
from loadtest.sim.http1 import (
    Request,
    end_chunked,
    ndjson,
    start_chunked,
    write_chunk,
    write_json,
)

# The models the simulated registry has: pulling any other fails as Ollama's pull of an
# unknown name does.
REGISTRY = frozenset({*catalog.MODEL_SIZES, "llama3.2:1b", "qwen2.5:0.5b", "all-minilm:latest",
                      "mxbai-embed-large:latest"})
# Ollama's words when the registry has no such model.
NO_MANIFEST = "pull model manifest: file does not exist"
PULL_STEPS = 4  # progress lines for the model's one layer


def _payload(request: Request) -> dict[str, Any] | None:
    try:
        payload = request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _name(payload: dict[str, Any], *keys: str) -> str | None:
    """The model named under the first of ``keys`` present (clients send ``model``, older
    ones ``name``)."""
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def pull_progress(model: str) -> list[dict[str, Any]]:
    """The status lines of a pull: the manifest, the layer's bytes, then success."""
    size = catalog.model_size(model)
    digest = "sha256:" + catalog.tag(model, "")["digest"]
    layer = [{"status": f"pulling {digest[7:19]}", "digest": digest, "total": size,
              "completed": size * step // PULL_STEPS} for step in range(PULL_STEPS + 1)]
    return [{"status": "pulling manifest"}, *layer, {"status": "verifying sha256 digest"},
            {"status": "writing manifest"}, {"status": "success"}]


class ModelAdmin:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def _add(self, model: str) -> None:
        if not catalog.has_model(self.faults.models, model):
            self.faults.models = [*self.faults.models, catalog.full_name(model)]

    async def pull(self, request: Request, writer: asyncio.StreamWriter) -> None:
        payload = _payload(request)
        model = _name(payload or {}, "model", "name")
        if payload is None or model is None:
            await write_json(writer, 400, {"error": "model is required"})
            return
        known = catalog.full_name(model) in REGISTRY
        if payload.get("stream", True) is False:
            if not known:
                await write_json(writer, 500, {"error": NO_MANIFEST})
                return
            self._add(model)
            await write_json(writer, 200, {"status": "success"})
            return
        await start_chunked(writer, b"application/x-ndjson")
        await write_chunk(writer, ndjson({"status": "pulling manifest"}))
        if not known:  # Ollama has sent its 200 already: the error is the last line
            await write_chunk(writer, ndjson({"error": NO_MANIFEST}))
        else:
            for line in pull_progress(model)[1:]:
                await asyncio.sleep(0.005)
                await write_chunk(writer, ndjson(line))
            self._add(model)
        await end_chunked(writer)

    async def delete(self, request: Request, writer: asyncio.StreamWriter) -> None:
        model = _name(_payload(request) or {}, "model", "name")
        if model is None:
            await write_json(writer, 400, {"error": "model is required"})
            return
        if not catalog.has_model(self.faults.models, model):
            await write_json(writer, 404, {"error": f"model '{model}' not found"})
            return
        self.faults.models = [m for m in self.faults.models
                              if catalog.full_name(m) != catalog.full_name(model)]
        await write_json(writer, 200, None)  # Ollama's c.JSON(http.StatusOK, nil): "null"

    async def copy(self, request: Request, writer: asyncio.StreamWriter) -> None:
        payload = _payload(request) or {}
        source, destination = _name(payload, "source"), _name(payload, "destination")
        if source is None or destination is None:
            await write_json(writer, 400, {"error": "source and destination are required"})
            return
        if not catalog.has_model(self.faults.models, source):
            await write_json(writer, 404, {"error": f"model '{source}' not found"})
            return
        self._add(destination)
        await write_json(writer, 200, None)  # Ollama's c.JSON(http.StatusOK, nil): "null"
