"""python -m app [--host H] [--port P]: run one instance of the service.

One process per instance: scale out by running more instances behind a load balancer, not
more workers, so that each instance's metrics come from one registry.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn
from pydantic import ValidationError

from app import __version__
from app.core.errors import StoreUnavailable
from app.core.settings import Settings
from app.factory import create_app
from app.serve import DrainingServer
from app.store.local import check_data_dir_free
from app.telemetry.logs import lean_log_records, logging_config
from app.telemetry.tracing import TracingConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app", description="Run one instance of the ollama-rag service.",
        epilog="Every setting is an OLLAMA_RAG_* environment variable (docs/configuration.md).")
    parser.add_argument("--host", help="address to listen on (OLLAMA_RAG_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (OLLAMA_RAG_PORT)")
    parser.add_argument("--version", action="version", version=f"ollama-rag {__version__}")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    if not settings.store_url:
        try:
            check_data_dir_free(settings.data_dir)
        except StoreUnavailable as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 3
    try:
        app = create_app(settings)
    except TracingConfigError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    # One logging configuration, JSON lines, for our loggers and uvicorn's; our access log
    # (one line per request, with its trace id) replaces uvicorn's.
    lean_log_records()
    config = uvicorn.Config(app, host=settings.host, port=settings.port,
                            log_level=settings.log_level, workers=1, access_log=False,
                            log_config=logging_config(settings.log_level))
    server = DrainingServer(config, app.state.components.drain, settings.drain_timeout)
    server.run()
    return 0 if server.started else 3  # uvicorn's status for a failed start


if __name__ == "__main__":
    sys.exit(main())
