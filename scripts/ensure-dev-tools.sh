#!/usr/bin/env bash
# Installs what `make dev` needs beyond Rust and Node when missing: watchexec (crates.io, `watchexec-cli`),
# which rebuilds and restarts the API when a file under server/ changes. The first install compiles it
# (about 5 minutes on 2 cores); later runs find it on PATH.
set -euo pipefail
if ! command -v watchexec >/dev/null; then
  echo "dev: installing watchexec-cli from crates.io (cargo install --locked, once)"
  cargo install --locked watchexec-cli
fi
