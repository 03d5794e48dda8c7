# The README's two commands are `make run` and `make test`; the rest are helpers.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
DATA_DIR ?= $(CURDIR)/gatehouse-data
TOKEN_FILE := $(DATA_DIR)/admin-token

.PHONY: run serve test check deps postgres ui bindings openapi bench bench-authz bench-audit bench-console bench-console-users bench-hardening bench-tokens bench-identity bench-oauth-code bench-gateway bench-gateway-limits package fmt

## Install what is missing (Debian packages, PostgreSQL, WebKitGTK, Xvfb, npm packages, tauri-driver).
deps:
	@bash scripts/deps.sh

## Start PostgreSQL if needed and create the test role and database.
postgres: deps
	@bash scripts/postgres.sh >/dev/null

## Build the web view (ui/dist), which the console embeds.
ui: deps
	cd ui && npm run build

## Open the console on its embedded server (a display is needed; see `make serve` otherwise).
run: ui
	$(CARGO) build -p gatehouse-console
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "No display found: the console is a desktop app."; \
	  echo "On a headless machine, run the server alone with: make serve"; \
	  exit 1; \
	fi
	./target/debug/gatehouse-console

## Serve the API alone on https://127.0.0.1:8443, headless.
serve: deps
	$(CARGO) build --release --bin gatehouse
	@if [ ! -f "$(TOKEN_FILE)" ]; then \
	  GATEHOUSE_DATA_DIR="$(DATA_DIR)" ./target/release/gatehouse init --new-admin-token --token-file "$(TOKEN_FILE)"; \
	fi
	@echo
	@echo "Gatehouse listens on https://127.0.0.1:8443 (TLS 1.3 only)."
	@echo "The administrator token is in $(TOKEN_FILE) (owner-only)."
	@echo "Try: curl -k -H \"Authorization: Bearer \$$(cat $(TOKEN_FILE))\" https://127.0.0.1:8443/v1/server"
	@echo
	GATEHOUSE_DATA_DIR="$(DATA_DIR)" ./target/release/gatehouse serve

## Formatting, lints, UI checks and unit tests, then every Rust test (SQLite and
## PostgreSQL, the real binary, the real console through WebDriver under Xvfb).
test: ui
	@url=$$(bash scripts/postgres.sh | tail -n 1); \
	$(CARGO) fmt --all -- --check; \
	(cd ui && npm run check && npm test); \
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings; \
	$(CARGO) build --workspace --bins --locked; \
	GATEHOUSE_TEST_DATABASE_URL="$$url" GATEHOUSE_TEST_REQUIRE_POSTGRES=1 \
	  xvfb-run -a -s "-screen 0 1280x800x24" $(CARGO) test --workspace --locked

## Formatting and lints only.
check: ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Rewrite ui/src/lib/bindings from the Rust types (a test fails when they are stale).
bindings:
	UPDATE_BINDINGS=1 $(CARGO) test -p gatehouse-console --lib bindings

## Rewrite docs/openapi.json from the code (a test fails when it is stale).
openapi:
	UPDATE_OPENAPI=1 $(CARGO) test -p gatehouse-server --lib openapi::tests::the_committed_document_is_fresh

## The console as a .deb (the only bundle that builds offline).
package: ui
	./ui/node_modules/.bin/tauri build --bundles deb

fmt:
	$(CARGO) fmt --all

## Benchmarks: figures and the commands that produced them are in BENCHMARKS.md.
## BENCH_RECORDS (default 10000000) and BENCH_DIR (default a temporary directory;
## 10 M records take about 6 GB) tune the audit benchmark; BENCH_DECISIONS and
## BENCH_HTTP_SECONDS the access-control one.
bench: bench-authz bench-audit bench-console

bench-authz:
	$(CARGO) bench -p gatehouse-server --bench authz

bench-audit:
	$(CARGO) build --release --bin gatehouse
	$(CARGO) bench -p gatehouse-server --bench audit

## The hardening's cost (issue 12): release builds of BASE and HEAD side by side
## under wrk (POST /v1/authorize, a search page); BASE, BENCH_SECONDS, BENCH_RECORDS.
bench-hardening:
	bash scripts/bench-hardening.sh

## Issue 13's targets: EdDSA verification against raw ed25519-dalek, and over
## HTTPS client_credentials grants, introspection, a private route with an API
## token and with a JWT (release build, wrk).
bench-tokens:
	bash scripts/bench-tokens.sh

## Password sign-ins against raw Argon2id, refresh rotations, 1,000 sign-ins at once.
bench-identity:
	bash scripts/bench-identity.sh

## The gateway against nginx proxy_pass and nginx + ModSecurity + the same CRS (issue 16).
bench-gateway:
	bash scripts/bench-gateway.sh

## The gateway's memory under a million sources and its slow-loris defence (issue 16).
bench-gateway-limits:
	$(CARGO) bench -p gatehouse-gateway --bench limits

## The authorization code + PKCE exchange against the token endpoint's
## cheapest grant and a bare round trip, in one run (release build).
bench-oauth-code:
	$(CARGO) bench -q -p gatehouse-server --bench oauth_code --locked

## The console's speed with 10 M records in its embedded server (BENCH_DIR must
## hold bench-audit's database; a million blocked requests are added once), in the
## release build of the console under Xvfb.
## The Users page with 100,000 users (issue 15): a release console on an embedded server seeded by `gatehouse demo` and SQL.
bench-console-users: ui
	$(CARGO) build --release -p gatehouse-console
	$(CARGO) build --bins -p gatehouse-cli
	GATEHOUSE_CONSOLE_APP="$(CURDIR)/target/release/gatehouse-console" \
	  WEBKIT_DISABLE_COMPOSITING_MODE="$${WEBKIT_DISABLE_COMPOSITING_MODE:-1}" \
	  xvfb-run -a -s "-screen 0 1400x900x24" $(CARGO) test -p gatehouse-e2e --test e2e console_users_page -- --ignored --nocapture

bench-console: ui
	@test -n "$${BENCH_DIR:-}" || { echo "set BENCH_DIR to bench-audit's data directory"; exit 1; }
	$(CARGO) build --release -p gatehouse-console
	GATEHOUSE_CONSOLE_APP="$(CURDIR)/target/release/gatehouse-console" \
	  WEBKIT_DISABLE_COMPOSITING_MODE="$${WEBKIT_DISABLE_COMPOSITING_MODE:-1}" \
	  xvfb-run -a -s "-screen 0 1400x900x24" $(CARGO) test -p gatehouse-e2e --test e2e console_speed -- --ignored --nocapture
