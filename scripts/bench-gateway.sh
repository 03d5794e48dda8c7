#!/usr/bin/env bash
# Issue 16's throughput and latency targets, side by side in one run on this
# machine (figures in BENCHMARKS.md). Every proxy talks TLS 1.3 to the load
# generator and plain HTTP to the same upstream (nginx answering a small JSON
# body from memory):
#   1. the upstream called directly (the baseline for added latency);
#   2. nginx `proxy_pass` (Debian's nginx);
#   3. nginx with the ModSecurity connector (libnginx-mod-http-modsecurity) and
#      the same OWASP CRS 3.3.4 at paranoia level 1;
#   4. Gatehouse's gateway, WAF on (PL1), every request with a JWT access token
#      (client credentials) verified and put to Cedar;
#   5. the same gateway with the WAF off.
# Load: wrk, BENCH_THREADS threads and BENCH_CONNECTIONS connections for
# BENCH_SECONDS a run, after a warm-up, BENCH_ROUNDS rounds; BENCH_WAF_THREADS sets
# the gateway's WAF threads (0, the default: one per core).
#
#   bash scripts/bench-gateway.sh       # or: make bench-gateway
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-2}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
if [ ! -f /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ]; then
    echo "bench-gateway: installing nginx and its ModSecurity connector"
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
        nginx-light libnginx-mod-http-modsecurity wrk >/dev/null
fi
cargo build -q --release --locked --bin gatehouse

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UPSTREAM=$(free_port); PROXY=$(free_port); MODSEC=$(free_port); API=$(free_port); GATEWAY=$(free_port)

# TLS for nginx (the gateway uses the server's own certificate).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# The WAF for nginx: the same settings as the gateway's (see waf/conf.rs).
mkdir -p "$WORK/modsec"
{
    echo 'SecRuleEngine On'
    echo 'SecRequestBodyAccess On'
    echo 'SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"'
    echo 'SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"'
    echo 'SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'"'"'Failed to parse request body'"'"'"'
    echo 'SecRequestBodyLimit 1048576'
    echo 'SecRequestBodyNoFilesLimit 1048576'
    echo 'SecRequestBodyLimitAction Reject'
    echo 'SecPcreMatchLimit 1000'
    echo 'SecPcreMatchLimitRecursion 1000'
    echo 'SecResponseBodyAccess Off'
    echo 'SecAuditEngine Off'
    echo 'SecDefaultAction "phase:1,log,auditlog,pass"'
    echo 'SecDefaultAction "phase:2,log,auditlog,pass"'
    echo 'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1"'
    echo 'SecAction "id:900110,phase:1,nolog,pass,t:none,setvar:tx.inbound_anomaly_score_threshold=5,setvar:tx.outbound_anomaly_score_threshold=4"'
    echo "SecAction \"id:900200,phase:1,nolog,pass,t:none,setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'\""
    echo 'SecAction "id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334"'
    for f in /usr/share/modsecurity-crs/rules/*.conf; do echo "Include $f"; done
} > "$WORK/modsec/main.conf"

cat > "$WORK/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000;
    upstream backend { server 127.0.0.1:$UPSTREAM; keepalive 64; }
    server {
        listen 127.0.0.1:$UPSTREAM;
        location / { default_type application/json; return 200 '{"patients":[{"id":17,"name":"Zoe Ng"}]}'; }
    }
    server {
        listen 127.0.0.1:$PROXY ssl;
        ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.3;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
    server {
        listen 127.0.0.1:$MODSEC ssl;
        ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.3;
        modsecurity on;
        modsecurity_rules_file $WORK/modsec/main.conf;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log"

# Gatehouse with its gateway in front of the same upstream.
cat > "$WORK/gatehouse.toml" <<EOF
listen = "127.0.0.1:$API"
data_dir = "$WORK/gatehouse"
[anonymous]
requests_per_window = 0
[gateway]
listen = "127.0.0.1:$GATEWAY"
waf_threads = ${BENCH_WAF_THREADS:-0}
[gateway.rate]
per_source_per_minute = 100000000
per_identity_per_minute = 100000000
[[gateway.routes]]
name = "patients"
path_prefix = "/api"
upstreams = ["http://127.0.0.1:$UPSTREAM"]
exposure = "partner"
classification = "confidential"
EOF
export GATEHOUSE_CONFIG="$WORK/gatehouse.toml"
ADMIN=$(./target/release/gatehouse init | sed -n 's/^administrator token: *\(gh_[^ ]*\).*/\1/p' | head -1)
[ -n "$ADMIN" ] || { echo "no admin token from gatehouse init"; exit 1; }
./target/release/gatehouse serve > "$WORK/gatehouse.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sk "https://127.0.0.1:$API/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
api() { curl -sk -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' "$@"; }
ACTIVE=$(api "https://127.0.0.1:$API/v1/policies")
python3 - "$ACTIVE" > "$WORK/policy.json" <<'PY'
import json, sys
active = json.loads(sys.argv[1])
extra = '\n@id("bench.apps_call_partner_routes")\npermit (principal in Role::"user", action in Action::"call", resource is Route)\nwhen { resource.exposure == "partner" };\n'
print(json.dumps({"text": active["text"] + extra, "reason": "bench", "base_version": active["version"]}))
PY
api -X POST --data @"$WORK/policy.json" "https://127.0.0.1:$API/v1/policies/versions" >/dev/null
CLIENT=$(api -X POST --data '{"name":"bench app","role":"user","is_confidential":true,"grant_types":["client_credentials"],"scopes":["server:read"],"redirect_uris":[]}' "https://127.0.0.1:$API/v1/clients")
CID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client"]["client_id"])' "$CLIENT")
SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$CLIENT")
JWT=$(curl -sk -u "$CID:$SECRET" -d grant_type=client_credentials "https://127.0.0.1:$API/oauth2/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
check=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" "https://127.0.0.1:$GATEWAY/api/patients")
[ "$check" = 200 ] || { echo "the gateway answered $check to the benchmark's request"; exit 1; }
waf() {
    GEN=$(api "https://127.0.0.1:$API/v1/gateway/routes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["waf"]["generation"])')
    api -X PUT --data "{\"mode\":\"$1\",\"paranoia_level\":1,\"inbound_threshold\":5,\"outbound_threshold\":4,\"exclusions\":[],\"base_generation\":$GEN}" \
        "https://127.0.0.1:$API/v1/gateway/waf" >/dev/null
}

# wrk: requests/s and the p99 latency (ms).
run() {
    local url=$1; shift
    # What an API client sends (without them, wrk's bare requests at this rate
    # look like a bot to the gateway, rightly).
    set -- -H "User-Agent: gatehouse-bench/1.0" -H "Accept: application/json" "$@"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null 2>&1 || true
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" 2>/dev/null | python3 -c '
import re, sys
text = sys.stdin.read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", text)
p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", text)
errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
def ms(m):
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
print(f"{float(rps.group(1)) if rps else 0:.0f} {ms(p50):.2f} {ms(p99):.2f} {errors.group(1) if errors else 0}")'
}

echo "2 cores; wrk -t$THREADS -c$CONNECTIONS, ${SECONDS_PER_RUN} s a run (after 2 s of warm-up); GET /api/patients"
echo "| round | target | requests/s | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---:|---:|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
    read -r r p50 p99 e < <(run "http://127.0.0.1:$UPSTREAM/api/patients")
    echo "| $round | upstream directly (plain HTTP) | $r | $p50 | $p99 | $e |"
    read -r r p50 p99 e < <(run "https://127.0.0.1:$PROXY/api/patients")
    echo "| $round | nginx proxy_pass | $r | $p50 | $p99 | $e |"
    read -r r p50 p99 e < <(run "https://127.0.0.1:$MODSEC/api/patients" -H "Authorization: Bearer $JWT")
    echo "| $round | nginx + ModSecurity + CRS PL1 | $r | $p50 | $p99 | $e |"
    waf blocking
    read -r r p50 p99 e < <(run "https://127.0.0.1:$GATEWAY/api/patients" -H "Authorization: Bearer $JWT")
    echo "| $round | Gatehouse gateway, WAF on (PL1), JWT + Cedar | $r | $p50 | $p99 | $e |"
    waf off
    read -r r p50 p99 e < <(run "https://127.0.0.1:$GATEWAY/api/patients" -H "Authorization: Bearer $JWT")
    echo "| $round | Gatehouse gateway, WAF off, JWT + Cedar | $r | $p50 | $p99 | $e |"
done
# Added latency, unloaded: one connection, one request at a time.
echo
echo "One connection, one request at a time (wrk -t1 -c1):"
echo "| target | requests/s | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|"
THREADS=1 CONNECTIONS=1
read -r r p50 p99 e < <(run "http://127.0.0.1:$UPSTREAM/api/patients")
echo "| upstream directly (plain HTTP) | $r | $p50 | $p99 |"
read -r r p50 p99 e < <(run "https://127.0.0.1:$PROXY/api/patients")
echo "| nginx proxy_pass | $r | $p50 | $p99 |"
read -r r p50 p99 e < <(run "https://127.0.0.1:$GATEWAY/api/patients" -H "Authorization: Bearer $JWT")
echo "| Gatehouse gateway, WAF off, JWT + Cedar | $r | $p50 | $p99 |"
waf blocking
read -r r p50 p99 e < <(run "https://127.0.0.1:$GATEWAY/api/patients" -H "Authorization: Bearer $JWT")
echo "| Gatehouse gateway, WAF on | $r | $p50 | $p99 |"
read -r r p50 p99 e < <(run "https://127.0.0.1:$MODSEC/api/patients" -H "Authorization: Bearer $JWT")
echo "| nginx + ModSecurity + CRS PL1 | $r | $p50 | $p99 |"
