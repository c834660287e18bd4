"""The models the simulator has, described as Ollama describes them (``/api/tags``,
``/api/ps``, ``/api/show``), and Ollama's answer for one it does not have.

    >>> has_model(["llama3.2:latest"], "llama3.2")
    True
"""

from __future__ import annotations

import zlib
from typing import Any

# The service's default models: a new simulator has what a new service asks for.
DEFAULT_MODELS = ["llama3.2:latest", "nomic-embed-text:latest"]


# What each default model holds in memory once loaded (Ollama's /api/ps ``size``): the
# chat model about 2 GiB, the embedding model about 260 MiB; any other, 1 GiB.
MODEL_SIZES = {"llama3.2:latest": 2_019_393_189, "nomic-embed-text:latest": 274_302_450}
OTHER_SIZE = 1_073_741_824


def model_size(model: str) -> int:
    return MODEL_SIZES.get(full_name(model), OTHER_SIZE)


def full_name(model: str) -> str:
    """``llama3.2`` is ``llama3.2:latest`` to Ollama."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def has_model(models: list[str], model: str) -> bool:
    return full_name(model) in {full_name(m) for m in models}


def not_found(model: str) -> dict[str, str]:
    """Ollama's 404 body (server/routes.go), word for word."""
    return {"error": f'model "{model}" not found, try pulling it first'}


def _digest(name: str) -> str:
    return f"{zlib.crc32(name.encode()):08x}" * 8  # sha256-long, as Ollama's


def details(name: str) -> dict[str, Any]:
    family = name.split(":")[0].split("/")[-1].rstrip("0123456789.") or "simulated"
    return {"parent_model": "", "format": "gguf", "family": family, "families": [family],
            "parameter_size": "1B", "quantization_level": "Q4_K_M"}


def tag(name: str, modified_at: str) -> dict[str, Any]:
    return {"name": full_name(name), "model": full_name(name), "modified_at": modified_at,
            "size": 1_000_000, "digest": _digest(full_name(name)), "details": details(name)}


def running(name: str, expires_at: str, size: int) -> dict[str, Any]:
    """A loaded model as ``/api/ps`` lists it: held in VRAM whole (``size_vram`` = ``size``),
    as on a GPU that fits it."""
    listed = {key: value for key, value in tag(name, expires_at).items()
              if key != "modified_at"}
    return {**listed, "size": size, "expires_at": expires_at, "size_vram": size,
            "context_length": 4096}


def show(name: str, modified_at: str, dimensions: int) -> dict[str, Any]:
    return {"modelfile": f"FROM {full_name(name)}\n", "parameters": "stop \"<|eot_id|>\"",
            "template": "{{ .Prompt }}", "details": details(name), "modified_at": modified_at,
            "model_info": {"general.architecture": "simulated",
                           "simulated.embedding_length": dimensions},
            "capabilities": ["completion", "embedding"]}
