#!/usr/bin/env bash
# Self-test of scripts/secret-scan.sh (run by `make check`): in a scratch repository, a credential added to
# application code is flagged; the same string in tests, docs or fixtures, or marked `secret-scan: allow`,
# is not; and this repository's own tree is clean.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
scan=$here/scripts/secret-scan.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init -q
git config user.email test@example.com
git config user.name test
mkdir -p server/src server/tests docs web/test/fixtures
echo 'fn main() {}' >server/src/main.rs
git add -A && git commit -qm base

fail() { echo "secret-scan-test: $*" >&2; exit 1; }
key='AKIA''ABCDEFGHIJKLMNOP'
# Assembled at run time so that this file itself holds no credential-like string.
cat >>server/tests/api.rs <<T
const PASSWORD: &str = "hunter2-hunter2"; let api_key = "sk_test_0123456789";
T
printf 'The key %s\n' "$key" >docs/example.md
printf 'password = "fixture-password-1"\n' >web/test/fixtures/user.txt
printf 'let aws = "%s"; // secret-scan: allow\n' "$key" >server/src/allowed.rs
git add -A
"$scan" >/dev/null || fail "flagged tests, docs, fixtures or an allow-listed line"

printf 'let aws = "%s";\n' "$key" >server/src/config.rs
printf 'const DB: &str = "postgres://app:s3cr3t-pass@db/app";\n' >>server/src/config.rs
printf 'let password = "correct-horse-battery";\n' >>server/src/config.rs
git add -A
out=$("$scan" 2>/dev/null) && fail "missed the credentials in server/src/config.rs"
for what in "server/src/config.rs:1: AWS access key id" "server/src/config.rs:2: credentials in a URL" \
  "server/src/config.rs:3: hard-coded secret"; do
  grep -qF "$what" <<<"$out" || fail "expected '$what' in: $out"
done
git commit -qm secrets
"$scan" HEAD~1..HEAD >/dev/null 2>&1 && fail "a pushed range with credentials passed"
"$scan" HEAD..HEAD >/dev/null || fail "an empty range failed"

cd "$here"
"$scan" --all || fail "this repository's own code has credential-like strings (fix them or mark them)"
echo "secret-scan-test: passed"
