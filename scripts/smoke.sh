#!/usr/bin/env bash
# Starts the given neoforge binary on a temp SQLite database, probes /health, /ready and /api/v1/config,
# and stops it with SIGTERM (it must exit 0).
set -euo pipefail
bin=${1:?usage: smoke.sh path/to/neoforge}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite://$dir/smoke.db" DATA_DIR="$dir" PORT="$port" ENVIRONMENT=development LOG_LEVEL=warn
"$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
for path in /health /ready /api/v1/config; do
  body=$(curl -fsS "$base$path") || { echo "smoke: $path failed"; exit 1; }
  echo "smoke: $path -> $body"
done
kill -TERM $pid
wait $pid
echo "smoke: passed"
