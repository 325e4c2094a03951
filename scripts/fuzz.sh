#!/usr/bin/env bash
# `make fuzz`: schemathesis against a running `neoforge serve` on a temp SQLite database, reading the
# served /api/v1/openapi.json. Three runs: anonymous, as a user and as an administrator (tokens come from
# the API itself, through schemathesis' dynamic auth, which signs in again after a 401, e.g. when a
# generated logout revoked the session). Exits non-zero on any failure. See docs/reliability.md.
#   usage: scripts/fuzz.sh path/to/neoforge
#   FUZZ_EXAMPLES (default 12) cases per operation and phase; FUZZ_SEED for a reproducible run;
#   FUZZ_RUNS (default "anon user admin"); FUZZ_ARGS extra `st run` options (e.g. --include-name);
#   FUZZ_REPORT_DIR (default target/fuzz-report).
set -euo pipefail
bin=${1:?usage: fuzz.sh path/to/neoforge}
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${FUZZ_VENV:-$here/.venv-fuzz}
req=$here/tools/fuzz/requirements.txt
if [ ! -x "$venv/bin/st" ] || [ "$req" -nt "$venv/.installed" ]; then
  echo "==> installing schemathesis into $venv (tools/fuzz/requirements.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  touch "$venv/.installed"
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin_email=fuzz-admin@example.com
user_email=fuzz-user@example.com
password='Fuzz-password-2026!' # secret-scan: allow (a throwaway test account)
# Rate limiting off (thousands of requests from one address); threat detection off because generated
# query strings can look like SQL injection or XSS and three blocks ban 127.0.0.1 for an hour.
env DATABASE_URL="sqlite://$dir/fuzz.db" DATA_DIR="$dir" PORT="$port" ENVIRONMENT=development \
  LOG_LEVEL=error EMAIL_BACKEND=file RATE_LIMITING=false THREAT_DETECTION=false \
  ADMIN_EMAIL="$admin_email" ADMIN_PASSWORD="$password" "$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 150); do
  curl -fsS "$base/ready" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$dir/server.log"; echo "fuzz: the server did not start"; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null -X POST "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$user_email\",\"password\":\"$password\",\"full_name\":\"Fuzz User\"}"

report=${FUZZ_REPORT_DIR:-$here/target/fuzz-report}
mkdir -p "$report"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance
status=0
for run in ${FUZZ_RUNS:-anon user admin}; do
  config="$dir/$run.toml"
  cp "$here/tools/fuzz/schemathesis.toml" "$config"
  case $run in
    anon) printf '\n[auth]\nauto-signup = false\n' >>"$config" ;;
    user|admin)
      email=$user_email; [ "$run" = admin ] && email=$admin_email
      printf '\n[auth]\nauto-signup = false\n\n[auth.dynamic.openapi.bearer]\npath = "/api/v1/auth/login"\npayload = { email = "%s", password = "%s" }\nextract_selector = "/access_token"\n' \
        "$email" "$password" >>"$config" ;;
  esac
  echo "==> schemathesis, $run"
  (cd "$dir" && SCHEMATHESIS_HOOKS="${FUZZ_HOOKS:-$here/tools/fuzz/hooks.py}" "$venv/bin/st" --config-file "$config" run "$base/api/v1/openapi.json" --url "$base" \
    --checks "$checks" --max-examples "${FUZZ_EXAMPLES:-12}" ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
    --report junit --report-junit-path "$report/$run.xml" --no-color ${FUZZ_ARGS:-}) || status=1
done
if grep -q "panicked\|internal error" "$dir/server.log"; then
  echo "fuzz: the server logged errors:"; grep "panicked\|internal error" "$dir/server.log" | head -20; status=1
fi
exit $status
