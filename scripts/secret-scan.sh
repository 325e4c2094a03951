#!/usr/bin/env bash
# Flags credential-like strings that a change adds to application code (the pre-push hook runs it on the
# pushed commits; `make check` runs its self-test, scripts/secret-scan-test.sh). Tests, docs and fixtures
# are not scanned: they hold made-up credentials on purpose. A line that must stay as it is carries the
# comment `secret-scan: allow`.
#   usage: scripts/secret-scan.sh [RANGE]   lines added in RANGE, e.g. origin/main..HEAD (default: staged)
#          scripts/secret-scan.sh --all      every line of every tracked file
# Exits 1 with one line per finding (file:line: what).
set -euo pipefail

# Paths whose contents are test data or prose, never deployed code.
skip_path() {
  case "$1" in
    server/tests/*|web/test/*|*-test.sh|docs/*|*.md|tools/fuzz/*|bench/*|*/fixtures/*|*.lock|*package-lock.json) return 0 ;;
    *) return 1 ;;
  esac
}

# name|extended regex (case-insensitive)
patterns=(
  'private key|-----BEGIN ([A-Z]+ )?PRIVATE KEY-----'
  'AWS access key id|AKIA[0-9A-Z]{16}'
  'GitHub token|gh[pousr]_[A-Za-z0-9]{36}'
  'Slack token|xox[abpr]-[A-Za-z0-9-]{10,}'
  'JSON Web Token|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}'
  'hard-coded secret|(secret|passwd|password|api[_-]?key|access[_-]?key|auth[_-]?token)[a-z_]*"?[[:space:]]*[:=][[:space:]]*["'"'"'][^"'"'"'[:space:]$]{8,}["'"'"']'
  'credentials in a URL|[a-z][a-z0-9+.-]*://[^/[:space:]:@$]+:[^/[:space:]@$]{6,}@'
)

# The lines to look at, as `file:line:text`.
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
if [ "${1:-}" = "--all" ]; then
  git ls-files -z | while IFS= read -r -d '' file; do
    skip_path "$file" || { [ -f "$file" ] && printf '%s\0' "$file"; }
  done | xargs -0 -r grep -nHI '' -- >"$lines" || true
else
  if [ -n "${1:-}" ]; then diff_args=("$1"); else diff_args=(--cached); fi
  git diff -U0 --no-color "${diff_args[@]}" | awk '
    /^\+\+\+ b\// { file = substr($0, 7); next }
    /^\+\+\+ /    { file = ""; next }
    /^@@ /        { split($3, a, ","); n = substr(a[1], 2) - 1; next }
    /^\+/         { n++; if (file != "") print file ":" n ":" substr($0, 2) }
  ' | while IFS= read -r entry; do
    skip_path "${entry%%:*}" || printf '%s\n' "$entry"
  done >"$lines"
fi

findings=0
for p in "${patterns[@]}"; do
  name=${p%%|*}
  re=${p#*|}
  while IFS= read -r hit; do
    [[ $hit == *"secret-scan: allow"* ]] && continue
    file=${hit%%:*}
    rest=${hit#*:}
    echo "$file:${rest%%:*}: $name"
    findings=$((findings + 1))
  done < <(grep -iE -- "^[^:]+:[0-9]+:.*($re)" "$lines" || true)
done

if [ "$findings" -gt 0 ]; then
  echo "secret-scan: $findings credential-like string(s) in application code (mark a false positive with 'secret-scan: allow')" >&2
  exit 1
fi
