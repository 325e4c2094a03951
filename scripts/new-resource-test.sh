#!/usr/bin/env bash
# Follows docs/adding-a-resource.md in a copy of the tree (`make test-new-resource`): generates `widgets`,
# checks the generator's refusals, formatting, the new resource's tests on SQLite and on PostgreSQL, the
# access matrix and the OpenAPI document. Fails on any failure; removes the copy. The real tree is never
# touched.
#
# The copy lives at a fixed path (NEW_RESOURCE_TEST_DIR, default ~/.cache/neoforge/new-resource-test) so the
# shared CARGO_TARGET_DIR keeps its compiled crate between runs; two runs at once need two paths.
# PostgreSQL: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; scripts/ensure-services.sh
# starts it).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/neoforge/target}"
pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
copy="${NEW_RESOURCE_TEST_DIR:-$HOME/.cache/neoforge/new-resource-test}"
cargo=${CARGO:-cargo}

step() { echo "==> new-resource test: $*"; }
cleanup() { rm -rf "$copy"; }
trap cleanup EXIT

step "copying the tree (tracked and new files, nothing ignored) to $copy"
rm -rf "$copy"
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$copy/"
cd "$copy"

step "the generator refuses bad and taken names"
tree_sum() { find server -type f -print0 | sort -z | xargs -0 md5sum | md5sum; }
before=$(tree_sum)
refuse() {
  if python3 scripts/new-resource.py "$@" >/dev/null 2>&1; then
    echo "new-resource test: the generator accepted $* (must refuse)" >&2
    exit 1
  fi
}
refuse Widgets
refuse 9lives
refuse widget-s
refuse data          # not plural
refuse projects      # exists
refuse posts         # a table of community
refuse widgets widgets
if [ "$(tree_sum)" != "$before" ]; then
  echo "new-resource test: a refused run changed files" >&2
  exit 1
fi

step "make new-resource NAME=widgets"
make -s new-resource NAME=widgets
for f in server/src/widgets/{mod,handlers,model,store}.rs server/tests/api/widgets.rs; do
  test -f "$f" || { echo "new-resource test: $f missing" >&2; exit 1; }
done
ls server/migrations/sqlite/*_widgets.sql server/migrations/postgres/*_widgets.sql >/dev/null
refuse widgets       # now it exists

step "cargo fmt --check (the generated code is formatted)"
$cargo fmt --all --check

step "cargo clippy -D warnings"
$cargo clippy -q -p neoforge --all-targets -- -D warnings

step "OpenAPI document has the new paths"
$cargo run -q -p neoforge -- openapi > "$copy/openapi.json"
for p in '"/api/v1/widgets"' '"/api/v1/widgets/{id}"' '"WidgetOut"' '"name": "widgets"'; do
  grep -q -- "$p" "$copy/openapi.json" || { echo "new-resource test: openapi lacks $p" >&2; exit 1; }
done

step "widgets:: and the access matrix on SQLite"
env -u TEST_DATABASE_URL $cargo test -q -p neoforge --test api -- widgets:: access:: migrations::

step "widgets:: and the access matrix on PostgreSQL ($pg_url)"
TEST_DATABASE_URL="$pg_url" NEOFORGE_NO_SKIP=1 $cargo test -q -p neoforge --test api -- widgets:: access:: migrations::

step "passed in $(( $(date +%s) - started ))s"
