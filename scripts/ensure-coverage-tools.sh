#!/usr/bin/env bash
# Installs what `make coverage` needs when missing: cargo-tarpaulin from crates.io (this toolchain has no
# llvm-tools-preview, so cargo-llvm-cov cannot run; tarpaulin's LLVM engine reads the profiles itself).
# The first install compiles it (about 8 minutes on 2 cores).
set -euo pipefail
if ! cargo tarpaulin --version >/dev/null 2>&1; then
  echo "coverage: installing cargo-tarpaulin from crates.io (cargo install --locked, once)"
  cargo install --locked cargo-tarpaulin
fi
