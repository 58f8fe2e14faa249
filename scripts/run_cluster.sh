#!/usr/bin/env bash
# Two stateless app processes on two ports against one PostgreSQL, both running the scheduler.
# Scheduled jobs are safe in both: each run claims its (job, slot) in job_runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DATABASE_URL="${DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/fieldsales}"
DB_NAME="${DATABASE_URL##*/}"
if [[ "$DATABASE_URL" == postgresql* ]] && command -v psql >/dev/null; then
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='${DB_NAME}'" | grep -q 1 \
    || createdb -h 127.0.0.1 -U postgres "$DB_NAME"
fi
"$BIN/fieldsales" prepare          # migrate + seed once, before two processes start
PORTS=(${CLUSTER_PORTS:-8001 8002})
pids=()
for port in "${PORTS[@]}"; do
  INSTANCE_NAME="app-$port" "$BIN/fieldsales" run --skip-prepare --port "$port" &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
echo "cluster: ${PORTS[*]} against $DATABASE_URL (Ctrl-C stops both)"
wait
