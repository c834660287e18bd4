"""The verifier's reports, from its data alone: a table in the terminal and an HTML page with
a chart of the key series of each scenario (inline SVG, no script), shaded where alerts
fired."""

from __future__ import annotations

import html as escape
from typing import Any

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _svg(panel: dict[str, Any], chart: dict[str, Any], width: int = 440,
         height: int = 150) -> str:
    left, right, top, bottom = 40, 10, 18, 22
    start, end = chart["start"], chart["end"]
    values = [v for s in panel["series"] for _, v in s["points"]]
    top_value = max([1.0, *values]) if values else 1.0

    def x(t: float) -> float:
        return left + (t - start) / max(end - start, 1e-9) * (width - left - right)

    def y(v: float) -> float:
        return height - bottom - v / top_value * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img"><title>{escape.escape(panel["title"])}</title>',
             f'<text x="{left}" y="12" font-size="11">{escape.escape(panel["title"])}</text>']
    for band in chart["bands"]:
        x0, x1 = x(band["from"]), x(max(band["to"], band["from"] + 0.25))
        parts.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" '
                     f'height="{height - top - bottom}" fill="#f4a582" fill-opacity="0.35">'
                     f'<title>{escape.escape(band["alert"])} firing</title></rect>')
    for name, at in chart["phases"].items():
        parts.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{top}" '
                     f'y2="{height - bottom}" stroke="#999" stroke-dasharray="2,2"/>'
                     f'<text x="{x(at) + 2:.1f}" y="{height - 8}" font-size="9" '
                     f'fill="#666">{escape.escape(name)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" '
                 f'y2="{height - bottom}" stroke="#333"/>'
                 f'<text x="2" y="{top + 8}" font-size="9">{top_value:.3g}</text>'
                 f'<text x="2" y="{height - bottom}" font-size="9">0</text>')
    for colour, series in zip(COLOURS, panel["series"], strict=False):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in series["points"])
        if points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                         f'points="{points}"><title>{escape.escape(series["label"])}</title>'
                         "</polyline>")
    parts.append("</svg>")
    return "".join(parts)


def _seconds(value: float | None, origin: float) -> str:
    return "-" if value is None else f"{value - origin:+.1f}s"


def alert_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for scenario in data["scenarios"]:
        fault = scenario["fault_at"]
        for alert in scenario["alerts"]:
            rows.append([
                scenario["name"], alert["alert"], alert["receiver"],
                _seconds(alert["fired_at"], fault),
                ",".join(alert["delivered_to"]) or "-",
                _seconds(alert["resolved_at"], fault),
                "-" if alert["time_to_detect"] is None else f"{alert['time_to_detect']:.1f}s",
                "ok" if not alert["problems"] else "FAIL: " + "; ".join(alert["problems"]),
            ])
    return rows


TRACE_HEADER = ["scenario", "questions traced", "calls sent: Ollama saw their trace",
                "exemplars joined", "span errors"]


def trace_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for scenario in data["scenarios"]:
        found = scenario.get("traces")
        if not found:
            continue
        lost = found.get("exemplars_lost_with_the_process", 0)
        rows.append([scenario["name"], str(found["traces_checked"]),
                     f"{found['client_spans_seen_by_ollama']}/"
                     f"{found['client_spans'] - found.get('client_spans_never_sent', 0)}",
                     f"{found['exemplars_joined']}" + (f" (+{lost} lost with the stopped "
                                                       "process)" if lost else ""),
                     ", ".join(f"{k} {v}" for k, v in found["error_types"].items())])
    return rows


CLIENT_HEADER = ["scenario", "requests named", "count", "failed", "p50 ms", "p99 ms", "max ms",
                 "service: answers, within bound, p99 ms", "verdict"]


def _service_cell(row: dict[str, Any]) -> str:
    service = row.get("service")
    if service is None:
        return ""
    return (f"{service['count']:g} {service['outcome']}, {service['within_bound']:.2%}, "
            f"{service['p99_ms']:.1f}")


def client_rows(data: dict[str, Any]) -> list[list[str]]:
    """What the callers saw, per client check (Locust's figures), and for a latency bound
    the service's own (which decide it)."""
    return [[scenario["name"], row["name"], str(row["requests"]), str(row["failures"]),
             f"{row['p50_ms']:g}", f"{row['p99_ms']:g}", f"{row['max_ms']:g}",
             _service_cell(row), "; ".join(row["problems"]) or "ok"]
            for scenario in data["scenarios"] for row in scenario.get("clients", [])]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([line.format(*header), line.format(*("-" * w for w in widths)),
                      *(line.format(*row) for row in rows)])


ALERT_HEADER = ["scenario", "alert", "expected", "fired at", "delivered to", "resolved at",
                "time to detect", "verdict"]


def terminal(data: dict[str, Any]) -> str:
    out = ["", text_table(ALERT_HEADER, alert_rows(data)), ""]
    metric_rows = [[s["name"], key.split(":")[0],
                    "yes" if ok else "not checked" if ok is None else "NO"]
                   for s in data["scenarios"] for key, ok in s["moved"].items()]
    out += [text_table(["scenario", "metric", "moved"], metric_rows), ""]
    held = [[s["name"], key, "yes" if ok else "NO"]
            for s in data["scenarios"] for key, ok in s.get("held", {}).items()]
    if held:
        out += [text_table(["scenario", "held at zero", "held"], held), ""]
    clients = client_rows(data)
    if clients:
        out += [text_table(CLIENT_HEADER, clients), ""]
    traces = trace_rows(data)
    if traces:
        out += [text_table(TRACE_HEADER, traces), ""]
    out.append("original design's metrics moved: " + ", ".join(
        f"{name.removeprefix('ollama_rag_')}={'yes' if ok else 'NO'}"
        for name, ok in data["contract_metrics_moved"].items()))
    empty = [f"{d['dashboard']} / {d['panel']}" for d in data["dashboards"] if not d["data"]]
    out.append(f"dashboard queries returning data: "
               f"{sum(d['data'] for d in data['dashboards'])}/{len(data['dashboards'])}"
               + (f" (empty: {', '.join(empty)})" if empty else ""))
    for query in data["design_queries"]:
        out.append(f"original design's {query['name']}: as written "
                   f"{'data' if query['verbatim_data'] else 'NO DATA'}, production form "
                   f"{'data' if query['production_data'] else 'NO DATA'}"
                   + (f"; {query['note']}" if query["note"] else ""))
    alerts = data["alerts"]
    out.append(f"alerts proven live: {len(alerts['live'])}/{len(alerts['rules'])} "
               f"({alerts['live_share']:.0%}); unit-tested only: "
               + "; ".join(f"{k} ({why})" for k, why in alerts["unit_tested_only"].items()))
    out.append("service settings changed from their defaults (besides the simulator's address "
               "and an admin token for the clear_cache action):")
    out += [f"  {c['env']}={c['value']} (default {c['default']}): {c['why']}"
            for c in data.get("service_settings", [])]
    out.append(f"wall time: {data.get('wall_seconds', '?')}s")
    out.append("VERDICT: " + data["verdict"].upper())
    out += [f"  - {failure}" for failure in data["failures"]]
    return "\n".join(out)


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape.escape(str(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html(data: dict[str, Any]) -> str:
    table = html_table
    sections = []
    for chart in data["charts"]:
        scenario = next(s for s in data["scenarios"] if s["name"] == chart["scenario"])
        svgs = "".join(_svg(panel, chart) for panel in chart["panels"])
        sections.append(f"<h2>{escape.escape(chart['scenario'])}</h2>"
                        f"<p>{escape.escape(scenario['summary'])}</p><div>{svgs}</div>")
    failures = "".join(f"<li>{escape.escape(f)}</li>" for f in data["failures"])
    design_rows = [[q["name"], "yes" if q["verbatim_data"] else "no",
                    "yes" if q["production_data"] else "no", q["note"]]
                   for q in data["design_queries"]]
    setting_rows = [[c["env"], c["value"], c["default"], c["why"]]
                    for c in data.get("service_settings", [])]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ollama-rag verification</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse;
font-size:13px}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}svg{{margin:4px;
border:1px solid #eee}}</style></head><body>
<h1>ollama-rag verification: {escape.escape(data['verdict'].upper())}</h1>
<p>Wall time {data.get('wall_seconds', '?')}s. Alerts proven live:
{len(data['alerts']['live'])}/{len(data['alerts']['rules'])}. Shaded areas: an expected
alert firing; dashed lines: phase boundaries.</p>
<ul>{failures}</ul>
<h2>Alerts</h2>{table(ALERT_HEADER, alert_rows(data))}
<h2>What callers saw</h2>{table(CLIENT_HEADER, client_rows(data))}
<h2>Traces</h2>{table(TRACE_HEADER, trace_rows(data))}
<h2>Service settings changed from their defaults</h2>
{table(["setting", "value", "default", "why"], setting_rows)}
<h2>Original design's queries</h2>{table(["query", "data as written",
                                           "data, production form", "note"], design_rows)}
{''.join(sections)}
</body></html>
"""
