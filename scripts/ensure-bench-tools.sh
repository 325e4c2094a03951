#!/usr/bin/env bash
# Installs what `make bench` needs from Debian's packages when missing (root only): wrk (the HTTP load
# generator) and pgbench (the PostgreSQL reference).
set -euo pipefail
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v pgbench >/dev/null || need+=(postgresql-contrib)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
