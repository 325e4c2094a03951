# NeoForge — the commands a developer needs. `make run` and `make test` are the two that matter first.
SHELL := /bin/bash
CARGO ?= cargo
BIN := neoforge
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
WEB_PRESENT := $(wildcard web/package.json)

.PHONY: coverage run release web web-deps lint-tools test test-rust test-web test-e2e test-scale reliability soak check openapi new-resource test-new-resource fuzz smoke bench dev hooks clean

## Build the web app (when present) and a dev server with optimised dependencies, then serve on :8000.
## `make run DEMO=1` first writes demo data (once; the demo sign-in is printed).
run: web
	@echo "==> building the server (first build takes several minutes on 2 cores)"
	$(CARGO) build -p neoforge
	@if [ "$(DEMO)" = 1 ]; then echo "==> demo data"; $(TARGET_DIR)/debug/$(BIN) seed-demo; fi
	@echo "==> serving on http://localhost:$${PORT:-8000} (SQLite under ./data/; Ctrl-C stops)"
	$(TARGET_DIR)/debug/$(BIN) serve

## The production binary (web app embedded).
release: web
	$(CARGO) build --release -p neoforge
	@ls -lh $(TARGET_DIR)/release/$(BIN)

web: web-deps
ifneq ($(WEB_PRESENT),)
	@echo "==> building the web app (vite build + size budget)"
	cd web && npm run build
else
	@echo "==> no web app in this tree yet; the server serves the API and /docs"
endif

## npm ci only when package-lock.json changed since the last install.
web-deps:
ifneq ($(WEB_PRESENT),)
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		echo "==> installing the web app's npm packages (npm ci)"; \
		cd web && npm ci --no-audit --no-fund; \
	fi
endif

## The whole suite: Rust on SQLite, again on PostgreSQL when TEST_DATABASE_URL is set; web unit tests.
## Tests named `postgres_only_*` are left out of the SQLite pass. A test whose service is missing prints
## `SKIPPED <test>: <why>`; NEOFORGE_NO_SKIP=1 (as in .ci/run) makes such a skip a failure.
test: test-rust test-web

test-rust:
	@echo "==> Rust suite on SQLite"
	env -u TEST_DATABASE_URL $(CARGO) test --workspace -- --skip postgres_only_
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "==> Rust suite on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --workspace --test api; \
	fi

test-web: web-deps
ifneq ($(WEB_PRESENT),)
	cd web && npm test
endif

## Browser tests: playwright-core + Debian's chromium (installed here when missing and root; never a
## downloaded browser) against the real binary on a temp SQLite database and the file email outbox.
test-e2e: web
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "==> installing Debian's chromium"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "test-e2e needs /usr/bin/chromium: sudo apt-get install chromium"; exit 1; fi; \
	fi
	@echo "==> building the server for the browser tests"
	$(CARGO) build -p neoforge
	cd web && NEOFORGE_BIN=$(abspath $(TARGET_DIR))/debug/$(BIN) npm run test:e2e

## Two `neoforge serve` processes on one PostgreSQL and one Redis (TEST_DATABASE_URL, TEST_REDIS_URL):
## sessions, revocation, limits, idempotency, jobs and periodic tasks across instances; SIGTERM drains one.
test-scale:
	@if [ -z "$$TEST_DATABASE_URL" ] || [ -z "$$TEST_REDIS_URL" ]; then \
		echo "test-scale needs TEST_DATABASE_URL and TEST_REDIS_URL (scripts/ensure-services.sh starts both), e.g."; \
		echo "  TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379 make test-scale"; \
		exit 2; \
	fi
	$(CARGO) test -p neoforge --test scale

## The reliability tests on their own (docs/reliability.md): concurrency, crash, dependency faults, backup,
## parser properties; with TEST_DATABASE_URL and TEST_REDIS_URL also on PostgreSQL and across two instances.
reliability:
	env -u TEST_DATABASE_URL $(CARGO) test -p neoforge --test api -- reliability:: faults:: backup:: --skip postgres_only_
	$(CARGO) test -p neoforge --test props
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(CARGO) test -p neoforge --test api -- reliability:: faults:: backup:: && $(MAKE) --no-print-directory test-scale; \
	fi

## Ten minutes of mixed load on the release binary (SQLite): no error, RSS growth <= 10 % after warm-up, p99
## stable; figures into docs/reliability.md. Not in CI. SOAK_MINUTES=2 shortens it.
soak: release
	python3 bench/soak.py --binary $(TARGET_DIR)/release/$(BIN) --minutes $${SOAK_MINUTES:-10} --write-docs

## Line coverage of server/src by the Rust suite on SQLite (cargo-tarpaulin, LLVM engine, its own target
## directory): coverage/cobertura.xml, and a failure under COVERAGE_MIN percent (default 80).
COVERAGE_MIN ?= 80
coverage:
	@scripts/ensure-coverage-tools.sh
	env -u TEST_DATABASE_URL $(CARGO) tarpaulin --engine llvm --skip-clean --workspace \
		--target-dir $(abspath $(TARGET_DIR))-cov --include-files 'server/src/*' --timeout 600 \
		--out Xml --output-dir coverage --fail-under $(COVERAGE_MIN) -- --skip postgres_only_

## Formatting, lints, the committed OpenAPI document and the alert rules (promtool).
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@echo "==> secret scan: its self-test, and no credential-like string in the application code"
	scripts/secret-scan-test.sh
	@echo "==> OpenAPI document is current (docs/openapi.json)"
	$(CARGO) run -q -p neoforge -- openapi > $(TARGET_DIR)/openapi.current.json
	diff -u docs/openapi.json $(TARGET_DIR)/openapi.current.json || { echo "docs/openapi.json is stale: run make openapi"; exit 1; }
	@echo "==> OpenAPI lint (@redocly/cli, recommended rules)"
	$(MAKE) --no-print-directory lint-tools
	tools/redocly/node_modules/.bin/redocly lint docs/openapi.json --extends=recommended
	@echo "==> alert rules and Prometheus configuration (ops/prometheus)"
	scripts/ensure-check-tools.sh
	promtool check rules ops/prometheus/alerts.yml
	promtool test rules ops/prometheus/alerts_test.yml
	promtool check config ops/prometheus/prometheus.yml
ifneq ($(WEB_PRESENT),)
	@echo "==> web: TypeScript types match docs/openapi.json, and tsc --noEmit"
	$(MAKE) --no-print-directory web-deps
	cd web && npm run api:check && npm run typecheck
endif

## @redocly/cli for `make check`, pinned in tools/redocly (npm ci only when its lock changed).
lint-tools:
	@if [ ! -f tools/redocly/node_modules/.package-lock.json ] || [ tools/redocly/package-lock.json -nt tools/redocly/node_modules/.package-lock.json ]; then \
		echo "==> installing @redocly/cli (tools/redocly, npm ci)"; \
		cd tools/redocly && npm ci --no-audit --no-fund; \
	fi

## Schemathesis (tools/fuzz, in .venv-fuzz) against a debug `neoforge serve` on a temp SQLite database:
## anonymous, as a user and as an administrator; any failure fails. docs/reliability.md, "Schemathesis".
fuzz:
	$(CARGO) build -p neoforge
	scripts/fuzz.sh $(TARGET_DIR)/debug/$(BIN)

## Add a resource room: `make new-resource NAME=widgets [SINGULAR=widget]` (docs/adding-a-resource.md).
new-resource:
	@if [ -z "$(NAME)" ]; then echo "usage: make new-resource NAME=widgets [SINGULAR=widget]"; exit 2; fi
	python3 scripts/new-resource.py $(NAME) $(SINGULAR)

## The walkthrough of docs/adding-a-resource.md in a copy of the tree: generate `widgets`, then its tests on
## SQLite and PostgreSQL (TEST_DATABASE_URL, default the local `test`), the access matrix and OpenAPI.
test-new-resource:
	scripts/new-resource-test.sh

## Regenerate docs/openapi.json from the code.
openapi:
	$(CARGO) run -q -p neoforge -- openapi > docs/openapi.json

## Start the binary on a temp database, probe it, stop it.
smoke:
	$(CARGO) build -p neoforge
	scripts/smoke.sh $(TARGET_DIR)/debug/$(BIN)

## Git hooks from .githooks/: pre-commit checks formatting; pre-push scans the pushed commits for
## credentials (scripts/secret-scan.sh), runs clippy and the Rust suite.
hooks:
	git config core.hooksPath .githooks
	@echo "hooks enabled (.githooks); 'git config --unset core.hooksPath' turns them off"

## Benchmarks on the release binary, SQLite and PostgreSQL, against pgbench on the same server
## (results in bench/results/ and docs/performance.md). BENCH_ARGS="--duration 5" shortens a run;
## BENCH_QUICK=1 runs the references, get_project and the creates on SQLite only (under 2 minutes).
bench: release
	scripts/ensure-bench-tools.sh
	scripts/ensure-services.sh
	python3 bench/run.py --binary $(TARGET_DIR)/release/$(BIN) $(BENCH_ARGS)

## The API on :8000, rebuilt and restarted by watchexec when server/ changes, plus the Vite dev server with
## reload on http://localhost:5173 (it proxies /api to :8000; PUBLIC_URL points at Vite so email links open
## the dev app and cookie-mode requests are same-origin).
DEV_API := watchexec --restart --stop-signal SIGTERM --stop-timeout 5s --debounce 300ms \
	--watch server --watch Cargo.toml --exts rs,sql,toml,html,txt -- $(CARGO) run -p neoforge -- serve
dev: web-deps
	@scripts/ensure-dev-tools.sh
ifneq ($(WEB_PRESENT),)
	@echo "==> open http://localhost:5173 (Vite, reloads on save); the API serves on :8000 and restarts on save"
	trap 'kill 0' EXIT; (cd web && npm run dev) & PUBLIC_URL=http://localhost:5173 $(DEV_API)
else
	$(DEV_API)
endif

clean:
	$(CARGO) clean
