"""compose-verify's report, from its data alone: a table in the terminal and an HTML page."""

from __future__ import annotations

import html as escape
from dataclasses import asdict
from typing import Any

from loadtest.stack.config import SERVICE_SETTINGS
from loadtest.verify.findings import scenario_failures
from loadtest.verify.report import ALERT_HEADER, alert_rows, html_table, text_table
from loadtest.verify.results import ScenarioResult

STEP_HEADER = ["stage or check", "seconds", "verdict", "finding"]
# Said in every report: what the look-alike images and the stand-ins cannot tell.
NOT_EXERCISED = (
    "Grafana itself: a stand-in takes its place and checks its password, provisioning files, "
    "its reach to Prometheus and Jaeger and the exemplar link between them; Jaeger itself: "
    "the project's trace receiver takes its place (OTLP/HTTP in, Jaeger's query API paths "
    "out), so Jaeger's storage and UI are not run; the images are look-alikes built from "
    "Debian's packages of the pinned versions, Chroma's from its PyPI package of the pinned "
    "version (the same Rust server; the real images' base layers, entrypoints beyond "
    "upstream's Dockerfiles and Python build are not the ones run here; that chromadb/chroma "
    "1.5.9 serves /config.yaml on port 8000 with its data in /data is upstream's layout as "
    "documented, not checked against the real image)."
)


def data(steps: list[dict[str, Any]], results: list[ScenarioResult],
         wall_seconds: float) -> dict[str, Any]:
    failures = [f"{s['name']}: {s['detail']}" for s in steps if not s["ok"]]
    failures += scenario_failures(results) if results else ["no scenario was played"]
    return {"verdict": "fail" if failures else "pass", "failures": failures, "steps": steps,
            "scenarios": [asdict(s) for s in results], "wall_seconds": wall_seconds,
            "service_settings": [asdict(change) for change in SERVICE_SETTINGS],
            "not_exercised": NOT_EXERCISED}


def _step_rows(data: dict[str, Any]) -> list[list[str]]:
    return [[s["name"], f"{s['seconds']:.1f}", "ok" if s["ok"] else "FAIL", s["detail"][:110]]
            for s in data["steps"]]


def terminal(data: dict[str, Any]) -> str:
    out = ["", text_table(STEP_HEADER, _step_rows(data)), ""]
    if data["scenarios"]:
        out += [text_table(ALERT_HEADER, alert_rows(data)), ""]
        out.append("scenarios played: " + ", ".join(
            f"{s['name']} {s['ended'] - s['started']:.0f}s" for s in data["scenarios"]))
    out.append(f"not exercised here: {data['not_exercised']}")
    out.append(f"wall time: {data['wall_seconds']}s")
    out.append("VERDICT: " + data["verdict"].upper())
    out += [f"  - {failure}" for failure in data["failures"]]
    return "\n".join(out)


def html(data: dict[str, Any]) -> str:
    table = html_table
    failures = "".join(f"<li>{escape.escape(f)}</li>" for f in data["failures"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ollama-rag compose verification</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;
font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}</style></head>
<body><h1>ollama-rag on Docker compose: {escape.escape(data['verdict'].upper())}</h1>
<p>Wall time {data['wall_seconds']}s. Not exercised here: {escape.escape(data['not_exercised'])}
</p><ul>{failures}</ul>
<h2>Stages and checks</h2>{table(STEP_HEADER, _step_rows(data))}
<h2>Alerts</h2>{table(ALERT_HEADER, alert_rows(data))}
</body></html>
"""
