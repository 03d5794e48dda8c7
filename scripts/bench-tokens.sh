#!/usr/bin/env bash
# Issue 13's speed targets, side by side in one run (figures in BENCHMARKS.md):
#   1. verifying an EdDSA access token against a raw ed25519-dalek verify of
#      the same bytes (crates/gatehouse-tokens/benches/verify.rs);
#   2. over HTTPS on loopback, the release `gatehouse` on a fresh SQLite data
#      directory, wrk (2 threads, BENCH_CONNECTIONS connections, TLS 1.3):
#      GET /healthz (the floor: TLS, the pipeline and its audit record, no
#      credential work), client_credentials grants at /oauth2/token,
#      introspection at /oauth2/introspect, and one private route
#      (GET /v1/server) called with an API token and with a JWT access token.
#
#   bash scripts/bench-tokens.sh          # or: make bench-tokens
#   BENCH_SECONDS=10 BENCH_ROUNDS=2 bash scripts/bench-tokens.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }

cargo bench -q -p gatehouse-tokens --bench verify 2>/dev/null
echo
echo "building gatehouse (release)" >&2
cargo build --release --locked --bin gatehouse -q
bin=target/release/gatehouse
port=18543
dir="$work/data"
# The anonymous limit off: /healthz, the floor, carries no credential.
export GATEHOUSE_DATA_DIR="$dir" GATEHOUSE_LISTEN="127.0.0.1:$port" GATEHOUSE_ANONYMOUS__REQUESTS_PER_WINDOW=0
"$bin" init --token-file "$dir/admin-token" >/dev/null
admin=$(cat "$dir/admin-token")
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sk --tlsv1.3 "https://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="https://127.0.0.1:$port"
client=$(curl -sk "$base/v1/clients" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"name":"bench","role":"auditor","grant_types":["client_credentials"],"scopes":["server:read","audit:read","tokens:introspect"]}')
id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client"]["client_id"])' <<<"$client")
secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")
basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
jwt=$(curl -sk "$base/oauth2/token" -H "Authorization: Basic $basic" -d grant_type=client_credentials \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
api=$(curl -sk "$base/v1/api-tokens" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"name":"bench","role":"auditor"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.body = "grant_type=client_credentials"
LUA
cat >"$work/introspect.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.body = "token=$jwt"
LUA

summary() { # label wrk-output
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$2")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$2")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$2")
    printf '| %-5s | %-40s | %10s | %8s | %8s | %s |\n' "$round" "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
bench() { wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$@"; }

echo "| round | request                                  | requests/s |      p50 |      p99 | non-2xx |"
echo "|-------|------------------------------------------|-----------:|---------:|---------:|--------:|"
for round in $(seq 1 "$ROUNDS"); do
    summary "GET /healthz (floor)" "$(bench "$base/healthz")"
    summary "POST /oauth2/token (client_credentials)" "$(bench -s "$work/token.lua" "$base/oauth2/token")"
    summary "POST /oauth2/introspect" "$(bench -s "$work/introspect.lua" "$base/oauth2/introspect")"
    summary "GET /v1/server, API token" "$(bench -H "Authorization: Bearer $api" "$base/v1/server")"
    # A fresh access token each round: 300 s is longer than a round.
    jwt=$(curl -sk "$base/oauth2/token" -H "Authorization: Basic $basic" -d grant_type=client_credentials \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    summary "GET /v1/server, JWT access token" "$(bench -H "Authorization: Bearer $jwt" "$base/v1/server")"
done
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
