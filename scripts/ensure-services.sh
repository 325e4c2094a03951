#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, trust auth, database `test`) and Redis (127.0.0.1:6379) run,
# installing them from Debian's packages when missing (root only).
set -euo pipefail

need_install=()
command -v pg_ctlcluster >/dev/null || need_install+=(postgresql)
command -v redis-server >/dev/null || need_install+=(redis-server)
command -v curl >/dev/null || need_install+=(curl)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "services: installing ${need_install[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh cluster: trust auth on loopback and the `test` database.
  su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
    || su postgres -c "createdb test" || true
fi
psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
echo "services: PostgreSQL and Redis are up"
