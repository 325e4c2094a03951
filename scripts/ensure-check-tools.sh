#!/usr/bin/env bash
# Installs what `make check` needs beyond Rust when missing (root only): promtool, from Debian's
# `prometheus` package, to validate and unit-test ops/prometheus.
set -euo pipefail
if ! command -v promtool >/dev/null; then
  echo "check: installing prometheus (for promtool)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
