"""The HTTP layer under the routes: ASGI middleware (body limit, disconnect, route metrics,
request telemetry), the drain on shutdown, and the one mapping of errors to JSON answers."""
