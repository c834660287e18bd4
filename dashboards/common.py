"""What every ollama-rag dashboard shares: data source, variables, links and panel helpers.

Every query goes through ``sel()``, so that each one carries the ``job`` and ``instance``
matchers, and rates use ``$__rate_interval``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

from app.core.catalog import EXEMPLAR_METRICS

DATASOURCE_UID = "ollama-rag-prometheus"  # the provisioned data source
TAGS = ["ollama-rag"]
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


def sel(metric: str, *matchers: str, per_instance: bool = True) -> str:
    """``metric{job=~"$job",instance=~"$instance",...}``.

    Job-level recording rules have no ``instance`` label: pass ``per_instance=False``.
    """
    scope = ['job=~"$job"'] + (['instance=~"$instance"'] if per_instance else [])
    return f"{metric}{{{','.join([*scope, *matchers])}}}"


def rate(metric: str, *matchers: str) -> str:
    return f"rate({sel(metric, *matchers)}[{RATE}])"


# Histograms whose buckets carry trace ids: their panels show exemplars, which link to the
# trace (the Prometheus data source's exemplarTraceIdDestinations, dashboards/provisioning).
EXEMPLAR_BUCKETS = tuple(f"{spec.full_name}_bucket" for spec in EXEMPLAR_METRICS)


def query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if any(bucket in expr for bucket in EXEMPLAR_BUCKETS):
        q = q.exemplar(True)
    return q.legend_format(legend) if legend else q


def targets(*pairs: tuple[str, str]) -> list[cogbuilder.Builder]:
    """Queries from (expr, legend) pairs, lettered A, B, C..."""
    return [query(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def finish(panel: cogbuilder.Builder, panel_id: int, title: str, description: str, unit: str,
           queries: list[cogbuilder.Builder], width: int = 12, height: int = 8,
           ) -> cogbuilder.Builder:
    """Set what every panel must have: id, title, description, unit, data source, queries."""
    return (panel.id(panel_id).title(title).description(description).unit(unit)
            .datasource(DATASOURCE).targets(queries).span(width).height(height))


def info_table(panel_id: int, title: str, description: str, metric: str
               ) -> cogbuilder.Builder:
    """A full-width table of an info metric's labels (versions), read at the range's end."""
    return finish(table.Panel(), panel_id, title, description, "none",
                  [query(sel(metric)).format(pm.PromQueryFormat.TABLE).instant()],
                  width=24, height=5)


def variables() -> list[cogbuilder.Builder]:
    ds = db.DatasourceVariable("datasource").label("Data source").type("prometheus")
    job = (db.QueryVariable("job").label("Job").datasource(DATASOURCE)
           .query("label_values(ollama_rag_build_info, job)")
           .multi(True).include_all(True).all_value(".+")
           .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC))
    instance = (db.QueryVariable("instance").label("Instance").datasource(DATASOURCE)
                .query('label_values(ollama_rag_build_info{job=~"$job"}, instance)')
                .multi(True).include_all(True).all_value(".+")
                .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(dm.VariableSort.ALPHABETICAL_ASC))
    return [ds, job, instance]


def dashboard(uid: str, title: str, description: str) -> db.Dashboard:
    """A dashboard with the shared settings, variables and links to its siblings."""
    return (db.Dashboard(title).uid(uid).description(description).tags(TAGS)
            .refresh("30s").timezone("browser").time("now-1h", "now")
            .tooltip(dm.DashboardCursorSync.CROSSHAIR).editable()
            .variables(variables())
            .link(db.DashboardLink("ollama-rag").type(dm.DashboardLinkType.DASHBOARDS)
                  .tags(TAGS).as_dropdown(True).include_vars(True).keep_time(True)))


def value_text(mapping: dict[int, tuple[str, str]]) -> list[dm.ValueMap]:
    """Value mappings: number -> (text, colour)."""
    return [dm.ValueMap(options={str(k): dm.ValueMappingResult(text=t, color=c, index=i)
                                 for i, (k, (t, c)) in enumerate(mapping.items())})]


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=v, color=c) for v, c in steps])


def alert_thresholds(panel: timeseries.Panel, *steps: tuple[float | None, str]
                     ) -> timeseries.Panel:
    """Colour steps drawn on the graph as dashed lines: where an alert fires is visible at a
    glance, without reading the rule."""
    return panel.thresholds(thresholds(*steps)).thresholds_style(
        cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
