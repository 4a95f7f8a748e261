FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make install
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
