#!/usr/bin/env bash
# Serve the Dagster UI and the query API, show one answered question, and keep serving until Ctrl-C.
set -euo pipefail
BIN=.venv/bin
API_PORT=${LLAMAPG_API_PORT:-8000}
UI_PORT=${LLAMAPG_DAGSTER_PORT:-3000}
mkdir -p .llamapg/logs

$BIN/llamapg dagster --port "$UI_PORT" > .llamapg/logs/dagster.log 2>&1 &
UI_PID=$!
$BIN/llamapg serve --port "$API_PORT" > .llamapg/logs/api.log 2>&1 &
API_PID=$!
trap 'kill $UI_PID $API_PID 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 120); do
  $BIN/python -c "import httpx, sys; sys.exit(httpx.get('http://127.0.0.1:$API_PORT/health').status_code != 200)" \
    2> /dev/null && break
  kill -0 $API_PID 2>/dev/null || { echo "the API failed to start:"; tail -20 .llamapg/logs/api.log; exit 1; }
  sleep 1
done

QUESTION="What is the recommended chunk overlap and why?"
echo
echo "Dagster UI : http://127.0.0.1:$UI_PORT   (log: .llamapg/logs/dagster.log)"
echo "Query API  : http://127.0.0.1:$API_PORT/docs   (log: .llamapg/logs/api.log)"
echo
echo "Sample question: $QUESTION"
$BIN/llamapg query "$QUESTION" --collection handbook -k 3 --api "http://127.0.0.1:$API_PORT"
echo
echo "Serving until Ctrl-C."
wait
