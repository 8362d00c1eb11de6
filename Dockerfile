# Multi-stage build. The steps mirror the README: install from the lockfile, `gateway migrate`, `gateway serve`.
# The base image is pinned to an exact Python and Debian release; add its digest (`@sha256:…`) where your registry
# policy asks for one.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY requirements.txt ./
RUN python -m venv /opt/gateway \
    && /opt/gateway/bin/pip install --no-cache-dir --require-hashes -r requirements.txt
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
RUN /opt/gateway/bin/pip install --no-cache-dir --no-deps .

FROM ${PYTHON_IMAGE}
RUN useradd --create-home --uid 10001 gateway \
    && mkdir -p /var/lib/gateway && chown gateway:gateway /var/lib/gateway
COPY --from=build /opt/gateway /opt/gateway
USER gateway
WORKDIR /home/gateway
ENV PATH=/opt/gateway/bin:$PATH \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_DATABASE_URL=sqlite:////var/lib/gateway/gateway.db \
    PYTHONUNBUFFERED=1
# The embedded SQLite store lives here: mount a volume so messages survive the container.
VOLUME ["/var/lib/gateway"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os,sys,urllib.request; url = f'http://127.0.0.1:{os.environ.get(\"GATEWAY_PORT\", \"8000\")}/healthz'; sys.exit(urllib.request.urlopen(url, timeout=2).status != 200)"
CMD ["sh", "-c", "gateway migrate && exec gateway serve"]
