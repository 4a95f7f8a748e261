#!/usr/bin/env bash
# Serve the Dagster UI and the query API, show one answered question, and keep serving until Ctrl-C
# (or SIGTERM). Each service runs in a process group of its own and is stopped as a group: Dagster's
# webserver, daemon and code server go with it. PostgreSQL keeps running (`llamapg db stop` stops it).
set -euo pipefail
BIN=.venv/bin
API_PORT=${LLAMAPG_API_PORT:-8000}
UI_PORT=${LLAMAPG_DAGSTER_PORT:-3000}
LOGS=${LLAMAPG_HOME:-.llamapg}/logs
STOP_GRACE_S=${LLAMAPG_STOP_GRACE_S:-10}
mkdir -p "$LOGS"

GROUPS_STARTED=()
start() {  # start LOG COMMAND...: run COMMAND as the leader of a new process group
  local log=$1
  shift
  setsid "$@" > "$log" 2>&1 < /dev/null &
  GROUPS_STARTED+=("$!")
}

stopping=
stop() {
  [[ -n $stopping ]] && return
  stopping=1
  trap '' INT TERM  # a second Ctrl-C must not cut the shutdown short
  local group alive
  for group in "${GROUPS_STARTED[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  for _ in $(seq 1 $((STOP_GRACE_S * 10))); do
    alive=
    for group in "${GROUPS_STARTED[@]}"; do kill -0 -- "-$group" 2>/dev/null && alive=1; done
    [[ -z $alive ]] && break
    sleep 0.1
  done
  for group in "${GROUPS_STARTED[@]}"; do
    if kill -0 -- "-$group" 2>/dev/null; then
      echo "process group $group did not stop within ${STOP_GRACE_S}s; killing it"
      kill -KILL -- "-$group" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  echo "stopped the Dagster UI and the query API (PostgreSQL keeps running: llamapg db stop)"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# An admin key for this machine (kept in $LLAMAPG_HOME/local-api-key, 0600): the API needs one.
API_KEY=$($BIN/llamapg keys local)
start "$LOGS/dagster.log" $BIN/llamapg dagster --port "$UI_PORT"
start "$LOGS/api.log" $BIN/llamapg serve --port "$API_PORT"
API_GROUP=${GROUPS_STARTED[1]}

for _ in $(seq 1 120); do
  $BIN/python -c "import httpx, sys; sys.exit(httpx.get('http://127.0.0.1:$API_PORT/health').status_code != 200)" \
    2> /dev/null && break
  kill -0 "$API_GROUP" 2>/dev/null || { echo "the API failed to start:"; tail -20 "$LOGS/api.log"; exit 1; }
  sleep 1
done

QUESTION="What is the recommended chunk overlap and why?"
echo
echo "Dagster UI : http://127.0.0.1:$UI_PORT   (log: $LOGS/dagster.log)"
echo "Query API  : http://127.0.0.1:$API_PORT/docs   (log: $LOGS/api.log)"
echo "API key    : $API_KEY"
echo "             (admin, this machine only; send it as 'Authorization: Bearer <key>'; llamapg keys --help)"
echo
echo "Sample question: $QUESTION"
$BIN/llamapg query "$QUESTION" --collection handbook -k 3 --api "http://127.0.0.1:$API_PORT" --key "$API_KEY" || true
echo
echo "Serving until Ctrl-C."
# A trapped signal ends `wait` at once (a foreground `sleep` would delay it); the EXIT trap then
# stops both groups.
while kill -0 "$API_GROUP" 2>/dev/null; do
  sleep 1 &
  wait $! || true
done
echo "the API stopped:"
tail -20 "$LOGS/api.log"
exit 1
