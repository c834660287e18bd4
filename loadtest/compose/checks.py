"""What compose-verify checks of the running stack besides the scenarios' alerts: each
check returns its finding; a problem raises ``CheckFailed`` with what was seen."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import yaml

from alerts.durations import duration_seconds
from alerts.paths import RULE_FILES, RUNBOOK
from loadtest.compose.engine import run
from loadtest.compose.stack import PORTS, PROJECT, ComposeStack, compose_services
from loadtest.scenarios.plan import HEALTHY_FAULTS
from loadtest.stack.config import (
    SINK_BASE_URL,
    compressed_alertmanager_config,
    compressed_rules,
)


class CheckFailed(AssertionError):
    """A check of the stack did not hold."""


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise CheckFailed(problem)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise CheckFailed(f"{what}: not within {timeout:.0f}s")
        time.sleep(1)


def ports_are_free() -> str:
    """compose.yaml's published ports are free on loopback (no other stack holds them)."""
    taken = []
    for service, port in PORTS.items():
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(f"127.0.0.1:{port} ({service})")
    expect(not taken, f"in use: {', '.join(taken)}; stop what holds them (another compose "
                      "stack? `docker compose down`)")
    return ", ".join(str(port) for port in PORTS.values())


def scrapes_every_replica(stack: ComposeStack, replicas: int) -> str:
    """Prometheus scrapes each running replica as its own target, and each is up."""
    targets = sorted(stack.target_of(c) for c in stack.containers("app"))
    expect(len(targets) == replicas, f"{len(targets)} app containers, not {replicas}")

    def all_up() -> bool:
        up = {s["metric"]["instance"]: s["value"][1] for s in stack.query('up{job="ollama-rag"}')}
        return sorted(up) == targets and set(up.values()) == {"1"}

    wait_for(all_up, 60, f"up == 1 for exactly {targets}")
    return f"{replicas} replicas, each scraped and up: {', '.join(targets)}"


def _rule_shape(rule: dict[str, Any]) -> tuple[str, float, dict[str, str]]:
    """Name, `for` in seconds and labels: the API reprints expressions, these it keeps."""
    duration = rule.get("duration", duration_seconds(rule.get("for", "0s")))
    return rule.get("name") or rule.get("alert") or rule["record"], duration, rule.get(
        "labels", {})


def rules_are_the_repositorys(stack: ComposeStack) -> str:
    """The loaded rules are the repository's, compressed, rule for rule."""
    response = httpx.get(f"{stack.prometheus_url}/api/v1/rules", timeout=10)
    response.raise_for_status()
    loaded = {group["name"]: [_rule_shape(rule) for rule in group["rules"]]
              for group in response.json()["data"]["groups"]}
    count = 0
    for path in RULE_FILES:
        for group in yaml.safe_load(compressed_rules(path))["groups"]:
            expect(group["name"] in loaded, f"group {group['name']} is not loaded")
            shapes = [_rule_shape(rule) for rule in group["rules"]]
            expect(loaded[group["name"]] == shapes,
                   f"group {group['name']}: loaded {loaded[group['name']]}, file has {shapes}")
            count += len(shapes)
    expect(count == sum(len(rules) for rules in loaded.values()),
           "Prometheus has rules that the repository has not")
    return f"{count} rules in {len(loaded)} groups, the repository's (compressed)"


def _matchers(items: list[str]) -> list[str]:
    return [re.sub(r'\s|"', "", item) for item in items]


def _route_shape(route: dict[str, Any]) -> dict[str, Any]:
    """What a route means, as Alertmanager re-writes it (quotes, spaces, durations)."""
    return {"receiver": route.get("receiver"), "matchers": _matchers(route.get("matchers", [])),
            "group_by": route.get("group_by"),
            **{key: duration_seconds(route[key]) for key in
               ("group_wait", "group_interval", "repeat_interval") if key in route},
            "routes": [_route_shape(child) for child in route.get("routes", [])]}


def _inhibition_shape(rule: dict[str, Any]) -> dict[str, Any]:
    return {"source": _matchers(rule["source_matchers"]),
            "target": _matchers(rule["target_matchers"]), "equal": rule["equal"]}


def alertmanager_config_is_the_repositorys(stack: ComposeStack) -> str:
    """Alertmanager runs the repository's routes, receivers and inhibitions, with the
    compose default webhook URLs put in by the entrypoint."""
    response = httpx.get(f"{stack.alertmanager_url}/api/v2/status", timeout=10)
    response.raise_for_status()
    status = response.json()
    loaded = yaml.safe_load(status["config"]["original"])
    expected = yaml.safe_load(compressed_alertmanager_config(SINK_BASE_URL))
    expect(_route_shape(loaded["route"]) == _route_shape(expected["route"]),
           f"Alertmanager's routes differ from the repository's: {loaded['route']}")
    expect([_inhibition_shape(r) for r in loaded["inhibit_rules"]]
           == [_inhibition_shape(r) for r in expected["inhibit_rules"]],
           "Alertmanager's inhibitions differ from the repository's")
    urls = {r["name"]: [h["url"] for h in r.get("webhook_configs", [])]
            for r in loaded["receivers"]}
    expect(urls == {r["name"]: [h["url"] for h in r.get("webhook_configs", [])]
                    for r in expected["receivers"]}, f"webhook URLs: {urls}")
    return f"routes, inhibitions and receivers as in alerts/alertmanager.yml; {urls['pager']}"


def external_urls(stack: ComposeStack) -> str:
    """Notifications link to 127.0.0.1, not to a container id."""
    watchdog = [item for item in stack.sink.log.all() if item["hook"] == "watchdog"]
    expect(bool(watchdog), "no Watchdog notification arrived")
    payload = watchdog[-1]["payload"]
    generator = payload["alerts"][0]["generatorURL"]
    expect(payload["externalURL"] == "http://127.0.0.1:9093",
           f"Alertmanager's externalURL is {payload['externalURL']}")
    expect(generator.startswith("http://127.0.0.1:9090/"), f"generatorURL is {generator}")
    return f"externalURL {payload['externalURL']}, generatorURL {generator.split('?')[0]}"


def load_balancer_spreads(stack: ComposeStack, replicas: int) -> str:
    """127.0.0.1:8000 answers, and every replica serves a share of what it is sent."""
    with httpx.Client(base_url=stack.service_url, timeout=10) as client:
        statuses = [client.get("/readyz").status_code for _ in range(30 * replicas)]
    expect(set(statuses) == {200}, f"statuses through the load balancer: {set(statuses)}")
    # By replica, not by series: a replica that also answered /readyz 503 within the minute
    # (Ollama gone, the scenario before) has a series for each status.
    targets = sorted(stack.target_of(c) for c in stack.containers("app"))
    query = ('sum by (instance) '
             '(increase(ollama_rag_http_requests_total{route="/readyz"}[1m])) > 0')

    def each_counted() -> bool:
        return sorted(r["metric"]["instance"] for r in stack.query(query)) == targets

    wait_for(each_counted, 30, f"/readyz requests counted on each of {targets}")
    return f"{len(statuses)} requests to 127.0.0.1:8000, all 200, served by all {replicas}"


def instance_alerts_name_the_stopped(stack: ComposeStack, start: float, end: float) -> str:
    """OllamaRagInstanceDown fired for the replica stopped first between ``start`` and
    ``end``, and only for stopped ones."""
    series = stack.query_range('ALERTS{alertname="OllamaRagInstanceDown",alertstate="firing"}',
                               start, end, 0.5)
    named = sorted({s["metric"]["instance"] for s in series})
    stopped = [target for at, target in stack.ever_stopped if start <= at <= end]
    expect(bool(stopped) and stopped[0] in named and set(named) <= set(stopped),
           f"OllamaRagInstanceDown fired for {named}; the stopped replicas were {stopped}")
    return f"fired for {', '.join(named)}; stopped: {', '.join(stopped)}"


def one_of_three_does_not_page(stack: ComposeStack, phases: dict[str, float]) -> str:
    """With one replica of three down, OllamaRagDown stays quiet: it is a ticket's job."""
    series = stack.query_range('ALERTS{alertname="OllamaRagDown"}', phases["one-down"],
                               phases["two-down"], 0.5)
    expect(not series, f"OllamaRagDown was {series[0]['metric']['alertstate'] if series else ''} "
                       "with one replica of three down")
    return "OllamaRagDown quiet while one replica of three was down"


def load_balancer_routes_around_a_stopped_replica(stack: ComposeStack) -> str:
    """While a replica stops (and after), every request through 127.0.0.1:8000 is answered."""
    container = stack.containers("app")[-1]
    statuses: list[int | str] = []
    stopper = threading.Thread(target=lambda: run(["docker", "stop", container], timeout=60))
    with httpx.Client(base_url=stack.service_url, timeout=10) as client:
        stopper.start()
        deadline = time.time() + 8
        while time.time() < deadline:
            try:
                statuses.append(client.get("/readyz").status_code)
            except httpx.HTTPError as exc:
                statuses.append(type(exc).__name__)
            time.sleep(0.05)
        stopper.join()
    run(["docker", "start", container], timeout=60)
    stack.wait_healthy()
    # Its instance alerts resolve before the scenarios go on.
    wait_for(lambda: not stack.query('ALERTS{alertname=~"OllamaRag(Instance)?Down"}'), 60,
             "the stopped replica's alerts resolved")
    failed = [s for s in statuses if s != 200]
    expect(not failed, f"{len(failed)} of {len(statuses)} requests failed: {failed[:5]}")
    return f"{len(statuses)} requests while a replica stopped, all 200"


def runbook_readiness_command(stack: ComposeStack) -> str:
    """The runbook's per-replica readiness command, as written there (replica 1), run with
    the Compose installed here (v1): it answers with the replica's own /readyz, not
    HAProxy's. `-T` only because this run has no terminal."""
    written = "compose exec --index N app python -m app.fetch /readyz"
    expect(written in RUNBOOK.read_text(), f"the runbook no longer says `{written}`")
    argv = written.removeprefix("compose ").replace("exec", "exec -T", 1).replace(" N ", " 1 ")
    answer = stack.compose(*argv.split()).stdout
    expect('"status"' in answer, f"no readiness in {answer[:200]!r}")
    return f"`{written}` (N=1) answered {answer.strip()[:80]}"


def restart_policies(stack: ComposeStack) -> str:
    """Every long-running container comes back after a reboot."""
    policies = {}
    for service in compose_services():
        for cid in stack.containers(service):
            policies[service] = stack.inspect(cid, "{{.HostConfig.RestartPolicy.Name}}")
    wrong = {s: p for s, p in policies.items() if p != "unless-stopped"}
    expect(not wrong, f"restart policies: {wrong}")
    return f"unless-stopped: {', '.join(sorted(policies))}"


def simulator_health_ignores_faults(stack: ComposeStack) -> str:
    """With every path of the simulated Ollama down, its healthcheck still passes."""
    test = compose_services()["upstream-sim"]["healthcheck"]["test"][1:]
    httpx.put(f"{stack.sim_url}/_sim/faults", json={"mode": "down"}, timeout=5)
    try:
        stack.compose("exec", "-T", "upstream-sim", *test, timeout=30)  # raises if it fails
        expect(not _answers(f"{stack.sim_url}/api/version"), "/api/version answered")
    finally:
        httpx.put(f"{stack.sim_url}/_sim/faults", json=HEALTHY_FAULTS, timeout=5)
    return "compose's healthcheck passed while every Ollama path was down"


def locust_image_runs(stack: ComposeStack) -> str:
    """Locust's container (profile loadtest) has no healthcheck to fail and serves its UI."""
    stack.compose("--profile", "loadtest", "up", "-d", "--no-recreate", "locust")
    (container,) = stack.containers("locust")
    health = stack.inspect(container, "{{json .State.Health}}")
    expect(health in ("null", "<no value>"), f"locust has a healthcheck: {health}")
    wait_for(lambda: _answers("http://127.0.0.1:8089/"), 60, "Locust's web UI")
    stack.compose("--profile", "loadtest", "rm", "--stop", "--force", "locust")
    return "no healthcheck; web UI answered on 127.0.0.1:8089"


def scenario_service_gives_a_verdict(stack: ComposeStack) -> str:
    """`docker compose --profile loadtest run --rm scenario outage`, as the README says: the
    runner plays outage against compose's own stack (its compressed rules, seen as such),
    reads the alerts from Prometheus's and Alertmanager's APIs, and passes."""
    # `-T` only because this run has no terminal.
    done = stack.compose("--profile", "loadtest", "run", "-T", "--rm", "scenario", "outage",
                         timeout=600, check=False)
    lines = done.stdout.splitlines()
    verdict = next((line for line in reversed(lines) if line.startswith(("PASS", "FAIL"))),
                   f"no verdict: {(done.stderr or done.stdout)[-1500:]}")
    expect(done.returncode == 0 and verdict.startswith("PASS"),
           f"exit status {done.returncode}: {verdict}\n" + "\n".join(lines[-30:]))
    alerts = [line for line in lines if line.startswith("seen") and " alert " in line]
    expect(len(alerts) >= 2, "no alert was checked: " + "\n".join(lines[-30:]))
    return f"{verdict} ({len(alerts)} alerts seen through the APIs)"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def grafana_standin_checks(stack: ComposeStack) -> str:
    """Grafana's stand-in found the password, the provisioning and Prometheus in place."""
    response = httpx.get(f"{stack.grafana_url}/api/health", timeout=10)
    found = response.json()
    expect(response.status_code == 200, f"Grafana's stand-in: {found['problems']}")
    return (f"password set, {found['dashboards']} dashboards where the provider's path says, "
            "Prometheus and Jaeger reachable from Grafana's network, exemplars linked to "
            "Jaeger's data source (Grafana itself not run)")


def traces_reach_the_backend(stack: ComposeStack) -> str:
    """Questions asked through the load balancer leave spans in the trace backend (Jaeger's
    stand-in, answering Jaeger's query API), under the service's name, and the trace ids
    Prometheus keeps as exemplars open those traces there."""
    started = time.time()
    with httpx.Client(base_url=stack.service_url, timeout=30) as client:
        for question in ("How do traces join metrics?", "What is an exemplar?"):
            expect(client.post("/api/query", json={"question": question}).status_code == 200,
                   "a question through the load balancer was not answered")

    def services() -> list[str]:
        return httpx.get(f"{stack.jaeger_url}/api/services", timeout=5).json()["data"] or []

    wait_for(lambda: "ollama-rag" in services(), 30, "spans of service ollama-rag")
    joined: list[str] = []

    def exemplars_open_traces() -> bool:
        found = stack.query_exemplars("ollama_rag_http_request_duration_seconds_bucket",
                                      started - 5, time.time())
        for series in found:
            for exemplar in series.get("exemplars", []):
                trace_id = exemplar["labels"].get("trace_id", "")
                answer = httpx.get(f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=5)
                if answer.status_code == 200 and answer.json()["data"]:
                    joined.append(trace_id)
        return bool(joined)

    wait_for(exemplars_open_traces, 60, "an exemplar whose trace the backend holds")
    return (f"{len(joined)} exemplar(s) of ollama_rag_http_request_duration_seconds open "
            "their trace in the backend's query API (Jaeger itself not run: its stand-in)")


def sidecars_stop_at_once(stack: ComposeStack) -> str:
    """alert-sink and targets stop on SIGTERM, not after docker's 10 s."""
    times = {}
    for service in ("targets", "alert-sink"):
        started = time.monotonic()
        stack.compose("stop", "--timeout", "10", service, timeout=60)
        times[service] = time.monotonic() - started
    slow = {s: t for s, t in times.items() if t > 5}
    expect(not slow, f"slow to stop: {slow}")
    return ", ".join(f"{s} {t:.1f}s" for s, t in times.items())


def nothing_left() -> str:
    """After the teardown, no container, volume or network of the project remains."""
    left = {}
    for kind in ("container", "volume", "network"):
        listed = subprocess.run(["docker", kind, "ls", *(["-a"] if kind == "container" else []),
                                 "--quiet", "--filter",
                                 f"label=com.docker.compose.project={PROJECT}"],
                                capture_output=True, text=True, timeout=30).stdout.split()
        if listed:
            left[kind] = listed
    expect(not left, f"left behind: {left}")
    return "no container, volume or network of the project"


# Asked inside a replica's container, of that replica alone: the sources of its answer.
_ASK_HERE = ("import json, urllib.request; r = urllib.request.Request("
             "'http://127.0.0.1:8000/api/query', data=json.dumps({'question': %r, "
             "'top_k': 20}).encode(), headers={'Content-Type': 'application/json'}); "
             "print(' '.join(s['source'] for s in json.load(urllib.request.urlopen(r, "
             "timeout=30))['sources']))")
SHARED_SOURCE = "compose/shared-store.md"


def _sources_in(container: str, question: str) -> list[str]:
    return run(["docker", "exec", container, "python", "-c", _ASK_HERE % question],
               timeout=60).stdout.split()


def documents_are_shared_and_kept(stack: ComposeStack) -> str:
    """A document ingested through the load balancer is found by every replica, asked
    directly; after Chroma and every replica restart, it is still there, once."""
    text = ("The shared store check: a document that every replica must find, before and "
            "after a restart of the store and of the replicas.")
    body = {"documents": [{"source": SHARED_SOURCE, "text": text}]}
    stored = httpx.post(f"{stack.service_url}/api/documents", json=body, timeout=30).json()
    expect(stored.get("chunks") == 1 or stored.get("unchanged") == 1,
           f"ingestion through the load balancer: {stored}")
    replicas = stack.containers("app")
    for index, container in enumerate(replicas):
        found = _sources_in(container, f"What must every replica find? ({index})")
        expect(SHARED_SOURCE in found, f"replica {index + 1} did not find it: {found}")
    run(["docker", "restart", *stack.containers("chroma"), *replicas], timeout=180)
    stack.wait_healthy()
    again = httpx.post(f"{stack.service_url}/api/documents", json=body, timeout=30).json()
    expect(again.get("unchanged") == 1 and again.get("chunks") == 0
           and again.get("total_chunks") == stored.get("total_chunks"),
           f"after the restarts, the same ingestion gave {again} (before: {stored})")
    found = _sources_in(replicas[-1], "What must every replica find, after a restart?")
    expect(SHARED_SOURCE in found, f"after the restarts, not found: {found}")
    wait_for(lambda: not stack.query('ALERTS{alertname=~"OllamaRag(Instance)?Down"}'), 90,
             "the restarted replicas' alerts resolved")
    return (f"ingested once, found by all {len(replicas)} replicas; after restarting Chroma "
            f"and every replica: still there, {again['total_chunks']} chunks, not duplicated")
