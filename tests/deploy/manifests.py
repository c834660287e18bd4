"""The Kubernetes objects as ``kubectl kustomize`` renders them (no cluster needed), and
their type check against the Kubernetes API and the Prometheus Operator's CRD schemas.

The schemas are the TypeScript declarations of the ``kubernetes-models`` and
``@kubernetes-models/prometheus-operator`` npm packages (generated from the Kubernetes
OpenAPI document and from the operator's CRDs; versions in ``schemas/package-lock.json``):
``tsc`` rejects an unknown field (an object literal's excess property), a wrong type, a
value outside an enum and a missing required field.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deploy.paths import BASE_DIR

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
TSC = SCHEMAS_DIR / "node_modules" / ".bin" / "tsc"
OPERATOR = "@kubernetes-models/prometheus-operator"


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: kustomize writes ``matchType: =`` unquoted, which YAML
    1.1 (PyYAML) would take for its ``value`` tag and Kubernetes reads as the string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)


def kubectl() -> str:
    """kubectl 1.21 or newer: its kustomize (v4+) reads a directory in ``resources``; the
    one in Debian 12's kubernetes-client (1.20) does not."""
    path = shutil.which("kubectl")
    assert path, "kubectl 1.21+ is needed to render deploy/kubernetes/ (no cluster needed)"
    version = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True,
                             text=True, timeout=30)
    minor = json.loads(version.stdout)["clientVersion"]["minor"].rstrip("+")
    assert int(minor) >= 21, f"{path} is kubectl 1.{minor}: deploy/kubernetes/ needs 1.21+"
    return path


@functools.cache
def _kustomized(directory: Path) -> str:
    """kubectl's rendering, once per directory and test session (the files do not change
    while the tests run)."""
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def kustomize(directory: Path = BASE_DIR) -> list[dict[str, Any]]:
    """The rendered objects, parsed afresh on each call: a test may change its copy."""
    return [doc for doc in yaml.load_all(_kustomized(directory), Loader=_Loader) if doc]


def rendered(kind: str, name: str, directory: Path = BASE_DIR) -> dict[str, Any]:
    (found,) = [o for o in kustomize(directory)
                if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _module(api_version: str, kind: str) -> str:
    if api_version.startswith("monitoring.coreos.com/"):
        return f"{OPERATOR}/{api_version}/{kind}"
    return f"kubernetes-models/{api_version}/{kind}"


def _child_routes(route: dict[str, Any]) -> list[dict[str, Any]]:
    children = route.get("routes", [])
    return [r for child in children for r in (child, *_child_routes(child))]


def typed(objects: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """(module, type, value) for every object, and for each AlertmanagerConfig's child
    routes: the CRD leaves those free-form (the operator reads them as routes when it
    reconciles), so they are checked as the ``Route`` type here."""
    items = [(_module(o["apiVersion"], o["kind"]), f"I{o['kind']}", o) for o in objects]
    for obj in objects:
        if obj["kind"] == "AlertmanagerConfig":
            items += [(f"{OPERATOR}/monitoring.coreos.com/v1alpha1/Route", "IRoute", route)
                      for route in _child_routes(obj["spec"]["route"])]
    return items


def type_check(items: list[tuple[str, str, Any]], workdir: Path) -> str:
    """``tsc``'s complaints about the values (typed(): "" when all fit their schemas)."""
    assert TSC.exists(), f"{TSC} is missing: run `make test` (it runs npm ci there)"
    lines = []
    for index, (module, type_name, value) in enumerate(items):
        lines += [f'import type {{ {type_name} as T{index} }} from "{module}";',
                  f"export const value{index}: T{index} = {json.dumps(value, indent=1)};"]
    source = workdir / "manifests.ts"
    source.write_text("\n".join(lines) + "\n")
    (workdir / "node_modules").symlink_to(SCHEMAS_DIR / "node_modules")
    types = subprocess.run(
        [str(TSC), "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext",
         "--moduleResolution", "nodenext", str(source)],
        capture_output=True, text=True, timeout=300, cwd=workdir)
    return (types.stdout + types.stderr + _validate(items, workdir)).strip()


def _validate(items: list[tuple[str, str, Any]], workdir: Path) -> str:
    """The models' own validators (ajv, compiled from the same schemas): they check what
    the declarations cannot, enums and patterns held in strings."""
    lines = []
    for index, (module, type_name, value) in enumerate(items):
        lines += [f'import {{ {type_name[1:]} as C{index} }} from "{module}";',
                  f"try {{ new C{index}({json.dumps(value)}).validate(); }} catch (e) {{ "
                  f'console.log("value{index} ({type_name[1:]}): " + e.message); }}']
    script = workdir / "validate.mjs"
    script.write_text("\n".join(lines) + "\n")
    result = subprocess.run(["node", str(script)], capture_output=True, text=True,
                            timeout=300, cwd=workdir)
    return result.stdout + result.stderr
