# One image for every service of docker-compose.yml (and of a Kubernetes deployment): the code
# server, dagster-webserver, dagster-daemon and the query API differ only by their command.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 llamapg \
    && mkdir -p /data && chown llamapg:llamapg /data && chmod 0700 /data
COPY --chown=llamapg:llamapg . .
USER llamapg
RUN make install
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PATH=/app/.venv/bin:$PATH \
    DAGSTER_HOME=/app/deploy LLAMAPG_HOME=/data LLAMAPG_DAGSTER_ARTIFACTS=/data/dagster
