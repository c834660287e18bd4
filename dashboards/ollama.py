"""Ollama itself: which models it has loaded, the memory they hold, when it will unload
them, how often it loads them and how long a load takes, and the calls its own queue turned
away. Ollama has no /metrics; the service reads its /api/ps and its answers
(app/upstream/ollama_state.py)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import timeseries

from dashboards.common import (
    alert_thresholds,
    dashboard,
    finish,
    info_table,
    rate,
    sel,
    targets,
)

UID = "ollama-rag-ollama"
DESCRIPTION = ("Ollama's own state: loaded models, their memory and keep-alive, model loads "
               "and their durations, calls turned away by Ollama's queue.")
TITLE = "Ollama"
# The values the alerts read (alerts/rules/recording.rules.yml).
LOADS = "job_model:ollama_rag_ollama_model_loads:max_increase15m"
LOAD_MEANS = ("job_model:ollama_rag_ollama_model_load_duration_seconds:mean30m",
              "job_model:ollama_rag_ollama_model_load_duration_seconds:mean1d")
BUSY_RATIO = "instance:ollama_rag_upstream_ollama_busy:ratio_rate5m"
RAW_LOADS = "ollama_rag_ollama_model_loads_total"
RAW_LOAD_SECONDS = "ollama_rag_ollama_model_load_duration_seconds_bucket"


def build() -> db.Dashboard:
    board = _load_panels(_state_panels(dashboard(UID, TITLE, DESCRIPTION)))
    return board.with_panel(
        info_table(9, "Ollama's version", "The version of Ollama each instance talks to (GET "
                   "/api/version, with every health check).", "ollama_rag_ollama_info"))


def _state_panels(board: db.Dashboard) -> db.Dashboard:
    """What Ollama holds: models loaded, their memory and keep-alive."""
    return board.with_panel(
        finish(timeseries.Panel(), 1, "Models loaded",
               "Per model, 1 while Ollama has it loaded (GET /api/ps, asked with every "
               "health check); \"other\": how many models the service does not use are "
               "loaded. A model that drops to 0 between questions is unloaded by its "
               "keep-alive or evicted.", "short",
               targets((f"max by (model) ({sel('ollama_rag_ollama_model_loaded')})",
                        "{{model}}")))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Memory held by loaded models",
               "Per model, the memory Ollama reports it holds: in VRAM and in all. Less in "
               "VRAM than in all: part of the model runs on the CPU (slower answers); the "
               "sum against the GPU's memory says whether the models fit together.", "bytes",
               targets((f"max by (model, memory) "
                        f"({sel('ollama_rag_ollama_model_memory_bytes')})",
                        "{{model}} {{memory}}")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Time until unload",
               "Per model, the seconds until Ollama unloads it (its keep-alive after the "
               "last call: OLLAMA_KEEP_ALIVE, 5 minutes by default). A sawtooth that "
               "reaches 0 between questions: the keep-alive is shorter than the gaps.", "s",
               targets((f"max by (model) ({sel('ollama_rag_ollama_model_unload_seconds')})",
                        "{{model}}")))
    )


def _load_panels(board: db.Dashboard) -> db.Dashboard:
    """What Ollama does: model loads and their durations, calls its queue turned away."""
    return board.with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 4, "Model loads",
                   "Per model, the loads seen in the last 15 minutes (in answers whose "
                   "load_duration says the model was loaded for them, or in /api/ps): "
                   "OllamaModelReloadingOften fires over 3 for 10 minutes.", "short",
                   targets((f"max by (model) ({sel(LOADS, per_instance=False)})",
                            "{{model}}"))),
            (None, "green"), (3, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 5, "Load duration",
               "Per model, the mean time a load took over 30 minutes, and over a day "
               "(the usual): OllamaModelLoadSlow fires when the first is over twice the "
               "second.", "s",
               targets(*[(f"max by (model) ({sel(record, per_instance=False)})",
                          f"{{{{model}}}} mean {window}")
                         for record, window in zip(LOAD_MEANS, ("30m", "1d"), strict=True)]))
    ).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 6, "Calls turned away by Ollama's queue",
                   "Share of the calls to models that Ollama answered 503 \"server busy\" "
                   "(its queue, OLLAMA_MAX_QUEUE, was full), over 5 minutes: the callers got "
                   "503 overloaded. OllamaQueueFull fires over 1% for 5 minutes.",
                   "percentunit",
                   targets((f"max by (instance) ({sel(BUSY_RATIO)})", "{{instance}}"))),
            (None, "green"), (0.01, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 7, "Model loads per second",
               "Per model, the loads seen per second: in answers that waited for a load, or "
               "in /api/ps for a load no answer of ours paid.", "ops",
               targets((f"sum by (model) ({rate(RAW_LOADS)})", "{{model}}")))
    ).with_panel(
        finish(timeseries.Panel(), 8, "Load duration p90",
               "Per model, the 90th percentile of the loads answers waited for, as Ollama's "
               "load_duration reports them.", "s",
               targets((f"histogram_quantile(0.9, sum by (model, le) "
                        f"({rate(RAW_LOAD_SECONDS)}))", "{{model}} p90")))
    )
