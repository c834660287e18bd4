# The service image (also runs the simulated Ollama, the alert sink and the DNS targets
# writer); the `loadtest` target adds Locust.
FROM python:3.11.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/ollama-rag
# Exactly what the lock names, hashes checked (runtime dependencies only, no dev extra);
# then the project itself, built by the locked setuptools: pip resolves nothing here.
COPY requirements/service.txt requirements/loadtest.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/service.txt
COPY pyproject.toml README.md ./
COPY app ./app
COPY loadtest ./loadtest
COPY dashboards ./dashboards
COPY alerts ./alerts
# /data: the local document store's directory (used when OLLAMA_RAG_STORE_URL is empty).
RUN pip install --no-deps --no-build-isolation . \
    && useradd --system --uid 10001 --no-create-home ollama-rag \
    && mkdir /data && chown 10001 /data
USER 10001
ENV OLLAMA_RAG_HOST=0.0.0.0 OLLAMA_RAG_PORT=8000 OLLAMA_RAG_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "-m", "app"]

FROM app AS loadtest
USER root
RUN pip install --require-hashes --no-deps -r requirements/loadtest.txt
USER 10001
# Not the service: the app stage's healthcheck would mark Locust unhealthy forever.
HEALTHCHECK NONE
EXPOSE 8089
ENTRYPOINT ["locust"]
