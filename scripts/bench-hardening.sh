#!/usr/bin/env bash
# The cost of issue 12's limits, before and after in one run: the release
# `gatehouse` built at BASE (default: the commit before the hardening) and at
# HEAD serve the same workload on loopback, one after the other, twice, and wrk
# measures POST /v1/authorize (one decision per request) and a search page
# (GET /v1/audit/events?limit=100 over BENCH_RECORDS ingested events).
#
#   bash scripts/bench-hardening.sh            # or: make bench-hardening
#   BASE=<rev> BENCH_SECONDS=10 BENCH_RECORDS=20000 bash scripts/bench-hardening.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-90411d1}
SECONDS_EACH=${BENCH_SECONDS:-10}
RECORDS=${BENCH_RECORDS:-20000}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -qq wrk >/dev/null; }

echo "building gatehouse at HEAD ($(git rev-parse --short HEAD)) and at $BASE (release)" >&2
cargo build --release --locked --bin gatehouse -q
cp target/release/gatehouse "$work/gatehouse-head"
git worktree add -q --detach "$work/base" "$BASE"
CARGO_TARGET_DIR="$PWD/target/bench-base" cargo build --release --locked --bin gatehouse -q --manifest-path "$work/base/Cargo.toml"
cp target/bench-base/release/gatehouse "$work/gatehouse-base"

cat >"$work/authorize.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"requests":[{"principal":{"type":"ApiToken","id":"t1","attributes":{"name":"svc","role":"service"},"parents":[{"type":"Role","id":"service"}]},"action":"audit.search","resource":{"type":"AuditTrail","id":"audit"},"context":{"source_ip":"10.0.0.1","time":1790000000}}]}'
LUA

port=18443
run() { # name binary
    local name=$1 bin=$2 dir="$work/data-$1"
    port=$((port + 1))
    export GATEHOUSE_DATA_DIR="$dir" GATEHOUSE_LISTEN="127.0.0.1:$port"
    "$bin" init --new-admin-token --token-file "$dir/admin-token" >/dev/null
    local token; token=$(cat "$dir/admin-token")
    "$bin" serve >"$work/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do curl -sk --tlsv1.3 "https://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    # The trail the search pages read: RECORDS ingested events, 1,000 a batch.
    python3 - "$port" "$token" "$RECORDS" <<'PY'
import json, ssl, sys, urllib.request, uuid
port, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for start in range(0, n, 1000):
    events = [{"event_id": str(uuid.uuid4()), "action": "orders.read", "outcome": "success",
               "on_behalf_of": f"u{i % 97}", "resource": {"type": "order", "id": str(i)}}
              for i in range(start, min(n, start + 1000))]
    req = urllib.request.Request(f"https://127.0.0.1:{port}/v1/audit/events", method="POST",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    urllib.request.urlopen(req, context=ctx).read()
PY
    local auth=(-H "Authorization: Bearer $token")
    local a s
    a=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency -s "$work/authorize.lua" "${auth[@]}" "https://127.0.0.1:$port/v1/authorize")
    s=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "${auth[@]}" "https://127.0.0.1:$port/v1/audit/events?limit=100")
    summary() { # label wrk-output
        local rps p50 p99 non2xx
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
        p50=$(awk '$1 == "50%" {print $2}' <<<"$2")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$2")
        non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$2")
        printf '| %-6s | %-36s | %10s | %8s | %8s | %s |\n' "$name" "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
    }
    summary "POST /v1/authorize (1 decision)" "$a"
    summary "GET /v1/audit/events?limit=100" "$s"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| build  | request                              |  requests/s |      p50 |      p99 | non-2xx |"
echo "|--------|--------------------------------------|------------:|---------:|---------:|--------:|"
for round in 1 2; do
    run "base$round" "$work/gatehouse-base"
    run "head$round" "$work/gatehouse-head"
done
