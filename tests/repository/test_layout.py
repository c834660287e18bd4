"""The shape of the code: one room per job, no import cycles, small modules and functions,
label values only from the catalog, and documentation that names modules that exist."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from app.core.labels import LABEL_VALUE_SETS
from tests import ROOT

PACKAGES = ("app", "alerts", "dashboards", "deploy", "loadtest", "bench", "tests")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# The rooms, most specific first: a module belongs to the first that prefixes its name. A
# module at the top of app/ (the factory, its components, lifespan, prober, serve, the CLI)
# is a room of its own.
APP_ROOMS = ("app.core", "app.telemetry", "app.store", "app.upstream", "app.rag", "app.http",
             "app.api")  # in order: each imports only rooms before it (app/__init__.py)
LOADTEST_ROOMS = ("loadtest.sim", "loadtest.scenarios", "loadtest.stack", "loadtest.verify",
                  "loadtest.compose")
ROOMS = (*APP_ROOMS, *LOADTEST_ROOMS, "alerts", "dashboards", "deploy", "bench", "tests",
         "loadtest")
# The app modules whose behaviour another test module proves, and which one.
TESTED_ELSEWHERE = {
    "app/__main__.py": "tests/test_main.py (--help, --version, a data directory in use) and "
                       "tests/end_to_end/test_overload.py (runs `python -m app` and stops it)",
    "app/factory.py": "tests/conftest.py builds every test's service with create_app",
    "app/components.py": "tests/upstream/test_client.py (build_components against the simulator)",
    "app/lifespan.py": "tests/test_prober.py and tests/api/routes/test_health.py",
    "app/fetch.py": "tests/alerts/test_runbook.py (the runbook's curl for the image)",
    "app/core/errors.py": "tests/http/test_error_handlers.py (every error's answer)",
    "app/core/schemas.py": "tests/api/test_openapi.py (the schema against what is answered)",
    "app/core/labels.py": "tests/repository/test_layout.py (no label value spelled out)",
    "app/core/metric_spec.py": "tests/core/test_catalog.py and tests/telemetry/test_metrics.py",
    "app/telemetry/observers.py": "tests/upstream/test_breaker.py, tests/rag/test_semcache.py",
    "app/telemetry/request_context.py": "tests/http/test_request_telemetry.py (access log)",
    "app/upstream/call.py": "tests/upstream/test_client.py and tests/telemetry/test_tracing.py",
    "app/upstream/gradient_limit.py": "tests/upstream/test_admission.py (the lanes' limits)",
    "app/store/base.py": "tests/store/test_local.py and tests/store/test_chroma.py",
    "app/rag/corpus.py": "tests/rag/test_pipeline.py (the built-in corpus answers)",
    "app/http/disconnect.py": "tests/end_to_end/test_overload.py (a caller who hangs up)",
    "app/http/drain.py": "tests/end_to_end/test_overload.py (SIGTERM drains)",
    "app/api/deps.py": "tests/api/routes/test_cache.py (the admin token)",
    "app/api/openapi.py": "tests/api/test_openapi.py",
    "app/api/routes/breaker.py": "tests/api/routes/test_cache.py",
    "app/api/routes/documents.py": "tests/rag/test_ingestion.py and tests/api/test_limits.py",
    "app/api/routes/query.py": "tests/rag/test_pipeline.py and tests/http/test_route_metrics.py",
}


def python_files() -> Iterator[Path]:
    """The project's Python (not what npm installs for the manifest checks)."""
    for package in PACKAGES:
        yield from sorted(p for p in (ROOT / package).rglob("*.py")
                          if "node_modules" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """First-party modules ``path`` imports, TYPE_CHECKING imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in known}
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in python_files()}
    known = set(paths)
    return {name: imports_of(path, known) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def room_of(module: str) -> str:
    room = next((room for room in ROOMS if module == room or module.startswith(room + ".")),
                None)
    if room is None:
        assert module.startswith("app"), module
        return module  # a module at the top of app/
    return room


def test_no_module_imports_itself_back() -> None:
    assert cycles(import_graph()) == []


def test_the_rooms_depend_on_each_other_in_one_direction() -> None:
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        rooms.setdefault(room_of(module), set()).update(room_of(t) for t in targets)
    for room, targets in rooms.items():
        targets.discard(room)
    assert cycles(rooms) == [], rooms


def test_each_app_room_imports_only_the_rooms_before_it() -> None:
    upward = []
    for module, targets in import_graph().items():
        if room_of(module) not in APP_ROOMS:
            continue
        own = APP_ROOMS.index(room_of(module))
        for target in targets:
            room = room_of(target)
            if room in APP_ROOMS and APP_ROOMS.index(room) > own:
                upward.append(f"{module} -> {target}")
            elif room not in APP_ROOMS and room.startswith("app") and not (
                    room == "app.components" and module == "app.api.deps"):
                upward.append(f"{module} -> {target}")  # a room reaching the top of app/
    assert not upward


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_and_functions_are_small() -> None:
    too_big = []
    for path in python_files():
        text = path.read_text()
        name = path.relative_to(ROOT)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    assert not too_big


def label_values() -> set[str]:
    return {member.value for enum in LABEL_VALUE_SETS for member in enum}


def test_no_label_value_is_spelled_out_in_the_app() -> None:
    """Every label value the service sets comes from the catalog's enums: a literal such
    as "open" or "timeout" anywhere else in app/ is one that could drift from it."""
    values = label_values()
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path.name == "labels.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found


def test_the_label_value_check_would_see_a_literal(tmp_path: Path) -> None:
    tree = ast.parse('breaker_calls.labels(name, "rejected").inc()')
    assert any(isinstance(n, ast.Constant) and n.value in label_values()
               for n in ast.walk(tree))


# Documentation that names modules and files.

MODULE_COMMAND = re.compile(r"python3? -m ([a-z_][a-z0-9_.]*)")
REPO_PATH = re.compile(r"(?<![\w/.-])((?:app|alerts|dashboards|loadtest|bench|docs|tests)"
                       r"/[\w./-]*\w)")


def module_exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return (path.with_suffix(".py").exists() or (path / "__main__.py").exists()
            or (path / "__init__.py").exists())


def first_party(name: str) -> bool:
    return name.split(".")[0] in {"app", "alerts", "dashboards", "loadtest", "bench"}


DOCUMENTS = ("README.md", "Makefile", "compose.yaml", "Dockerfile", "alerts/alertmanager.yml",
             *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")
                     if p.name != "original-design.md"))  # the original names its own files


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documents_name_modules_and_paths_that_exist(document: str) -> None:
    text = (ROOT / document).read_text()
    modules = {m for m in MODULE_COMMAND.findall(text) if first_party(m)}
    missing = [f"python -m {m}" for m in sorted(modules) if not module_exists(m)]
    # compose's exec-form commands: ["python", "-m", "module", ...]
    for module in re.findall(r'"-m", "([a-z_.]+)"', text):
        if first_party(module) and not module_exists(module):
            missing.append(f'"-m", "{module}"')
    paths = {p.rstrip(".") for p in REPO_PATH.findall(text)}
    missing += [p for p in sorted(paths)
                if not (ROOT / p).exists() and "*" not in p and not p.endswith("/<alert>")]
    assert not missing, f"{document} names what does not exist: {missing}"


def test_the_path_check_would_see_a_missing_module() -> None:
    assert not module_exists("loadtest.upstream_sim")
    assert module_exists("loadtest.sim") and module_exists("loadtest.verify")
    assert REPO_PATH.findall("see `loadtest/locustfiles/outage.py`.") == [
        "loadtest/locustfiles/outage.py"]


def test_every_app_module_has_its_test_module() -> None:
    """``app/<room>/<module>.py`` is tested in ``tests/<room>/test_<module>.py``, or the
    table above says which test module proves it."""
    missing = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        source = path.relative_to(ROOT).as_posix()
        relative = path.relative_to(ROOT / "app")
        test_module = ROOT / "tests" / relative.parent / f"test_{path.stem}.py"
        if not test_module.exists() and source not in TESTED_ELSEWHERE:
            missing.append(source)
    assert not missing, f"no test module, and none named in TESTED_ELSEWHERE: {missing}"
    for source, proof in TESTED_ELSEWHERE.items():
        assert (ROOT / source).exists(), source
        for named in re.findall(r"tests/[\w/]+\.py", proof):
            assert (ROOT / named).exists(), f"{source}: {named} does not exist"


def test_the_rooms_named_are_the_rooms_that_exist() -> None:
    for package, rooms in (("app", APP_ROOMS), ("loadtest", LOADTEST_ROOMS)):
        found = {f"{package}.{p.parent.name}" for p in (ROOT / package).glob("*/__init__.py")}
        assert set(rooms) == found, package
        docstring = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
        assert docstring is not None
        unnamed = [room for room in rooms if f"``{room.split('.')[1]}``" not in docstring]
        assert not unnamed, f"{package}/__init__.py does not name {unnamed}"


def test_the_readme_layout_has_a_row_per_package() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    rows = set(re.findall(r"^\| `([\w/]+/)`", layout, re.M))
    packages = {f"{p.parent.relative_to(ROOT)}/" for p in ROOT.glob("*/**/__init__.py")
                if ".venv" not in p.parts and "locustfiles" not in p.parts
                and p.parent.parent in (ROOT, ROOT / "loadtest", ROOT / "app")}
    packages -= {"loadtest/", "app/"}  # each has a row per room
    assert packages <= rows, sorted(packages - rows)


def test_the_generated_slo_rules_are_current() -> None:
    result = subprocess.run([sys.executable, "-m", "alerts", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_slo_rules_follow_the_table() -> None:
    from alerts.paths import SLO_RULES
    from alerts.slo import OBJECTIVES, WINDOWS

    rules = [r for g in yaml.safe_load(SLO_RULES.read_text())["groups"] for r in g["rules"]]
    alerts = [r for r in rules if "alert" in r]
    assert len(alerts) == len(OBJECTIVES) * len(WINDOWS)
    for objective in OBJECTIVES:
        for window in WINDOWS:
            (rule,) = [r for r in alerts if r["alert"] == objective.alert
                       and r["labels"]["long_window"] == window.long]
            assert rule["for"] == window.for_ and rule["labels"]["severity"] == window.severity
            threshold = f"({window.factor:g} * {objective.budget:g})"
            assert rule["expr"].count(threshold) == 2, rule["expr"]
            for span in (window.long, window.short):
                assert any(r.get("record") == objective.record_for(span) for r in rules)
