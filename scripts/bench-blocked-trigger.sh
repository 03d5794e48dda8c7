#!/usr/bin/env bash
# What the blocked log's triggers cost per refused request on SQLite: 200,000
# inserts into blocked_requests (its table and indexes from 0002) with the hourly counts only (migration 0004) and
# with the hourly counts and all-time totals (0004 + 0005), each twice, in the
# sqlite3 shell (WAL, synchronous=NORMAL, as the server opens it).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
m="$here/crates/gatehouse-store/migrations/sqlite"
db="$(mktemp -d)/blocked.db"
schema="$(awk '/CREATE TABLE blocked_requests/,/^\);/' "$m/0002_audit.sql"; grep '^CREATE INDEX .* ON blocked_requests' "$m/0002_audit.sql")"
[ -n "$schema" ] || { echo "blocked_requests not found in 0002_audit.sql" >&2; exit 1; }
insert="WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000)
INSERT INTO blocked_requests (time_us, reason, source_ip, identity, method, route, status, request_id)
SELECT 1795449600000000 + i * 13000000, 'authentication',
       '10.' || (i % 200) || '.' || (i % 251) || '.1', 'tok-' || (i % 97), 'GET',
       '/v1/r' || (i % 50), 401, 'req-' || i FROM c;"
for run in 1 2; do
  for upto in 0004 0005; do
    rm -f "$db" "$db-wal" "$db-shm"
    {
      echo "$schema"
      cat "$m/0004_blocked_hourly.sql"
      [ "$upto" = 0005 ] && cat "$m/0005_blocked_totals.sql"
      echo "PRAGMA journal_mode=WAL;"
      echo "PRAGMA synchronous=NORMAL;"
      echo ".timer on"
      echo "$insert"
    } | sqlite3 "$db" | grep -o 'real [0-9.]*' | sed "s/^/run $run, migrations to $upto: 200,000 inserts, /"
  done
done
rm -rf "$(dirname "$db")"
