# The README's two commands are `make run` and `make test`; the rest are helpers.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
DATA_DIR ?= $(CURDIR)/gatehouse-data
TOKEN_FILE := $(DATA_DIR)/admin-token

.PHONY: run test check deps postgres bench fmt

## Install what is missing (Debian packages, PostgreSQL server, curl).
deps:
	@bash scripts/deps.sh

## Start PostgreSQL if needed and create the test role and database.
postgres: deps
	@bash scripts/postgres.sh >/dev/null

## Build and serve the API on https://127.0.0.1:8443 (the console arrives in a later issue).
run: deps
	$(CARGO) build --release --bin gatehouse
	@if [ ! -f "$(TOKEN_FILE)" ]; then \
	  GATEHOUSE_DATA_DIR="$(DATA_DIR)" ./target/release/gatehouse init --new-admin-token --token-file "$(TOKEN_FILE)"; \
	fi
	@echo
	@echo "Gatehouse listens on https://127.0.0.1:8443 (TLS 1.3 only)."
	@echo "The administrator token is in $(TOKEN_FILE) (owner-only)."
	@echo "Try: curl -k -H \"Authorization: Bearer \$$(cat $(TOKEN_FILE))\" https://127.0.0.1:8443/v1/server"
	@echo "Stop with Ctrl-C."
	@echo
	GATEHOUSE_DATA_DIR="$(DATA_DIR)" ./target/release/gatehouse serve

## Formatting, lints, and every test on SQLite and PostgreSQL.
test: deps
	@url=$$(bash scripts/postgres.sh | tail -n 1); \
	$(CARGO) fmt --all -- --check; \
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings; \
	$(CARGO) build --workspace --bins --locked; \
	GATEHOUSE_TEST_DATABASE_URL="$$url" GATEHOUSE_TEST_REQUIRE_POSTGRES=1 \
	  $(CARGO) test --workspace --locked

## Formatting and lints only.
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks (none yet: no issue so far sets a speed target).
bench:
	@echo "no benchmarks yet; see BENCHMARKS.md"
