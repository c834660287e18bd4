"""ollama-rag: an instrumented RAG service in front of Ollama.

One room per concern, each importing only rooms listed before it (``api`` also reads the
app's ``components``):

- ``core``: settings, errors and their answers, schemas, label values, the metric catalog;
- ``telemetry``: the metrics built from the catalog, observers, runtime metrics, tracing;
- ``store``: the document store (SQLite or a shared Chroma server), the vector index, and
  unit vectors;
- ``upstream``: the Ollama client, its calls and answers, breaker, admission control;
- ``rag``: the pipeline (cache, retrieval, generation), the semantic cache, ingestion;
- ``http``: middleware, the drain on shutdown, the one mapping of errors to JSON;
- ``api``: the routes, what they depend on, the limits, the OpenAPI document.

At the top: ``factory`` (``create_app(settings)``), ``components`` (the parts of one app),
``lifespan``, ``prober``, ``serve`` and ``__main__`` (``python -m app``), and ``fetch``.
"""

__version__ = "0.1.0"
