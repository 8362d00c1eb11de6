# Multi-stage build: wheels are built in the first stage, the runtime image holds only the installed package.
# The steps mirror the README: install the package, `gateway migrate`, `gateway serve`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
RUN pip install --no-cache-dir --upgrade pip && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
USER gateway
WORKDIR /home/gateway
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_DATABASE_URL=sqlite:////home/gateway/var/gateway.db \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os,sys,urllib.request; url = f'http://127.0.0.1:{os.environ.get(\"GATEWAY_PORT\", \"8000\")}/healthz'; sys.exit(urllib.request.urlopen(url, timeout=2).status != 200)"
CMD ["sh", "-c", "gateway migrate && exec gateway serve"]
