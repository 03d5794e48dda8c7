#!/usr/bin/env bash
# Starts the local PostgreSQL cluster if it is not running, and makes sure the test
# role and database exist. Prints the test database URL on its last line.
set -euo pipefail

run_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

cluster=$(pg_lsclusters --no-header 2>/dev/null | head -n 1 || true)
if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
    echo "postgres: creating cluster $version/main" >&2
    run_as_postgres true 2>/dev/null || true
    if [ "$(id -u)" -eq 0 ]; then pg_createcluster "$version" main >&2; else sudo pg_createcluster "$version" main >&2; fi
    cluster=$(pg_lsclusters --no-header | head -n 1)
fi
version=$(echo "$cluster" | awk '{print $1}')
name=$(echo "$cluster" | awk '{print $2}')
port=$(echo "$cluster" | awk '{print $3}')
status=$(echo "$cluster" | awk '{print $4}')
if [ "$status" != "online" ]; then
    echo "postgres: starting cluster $version/$name on port $port" >&2
    if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$version" "$name" start; else sudo pg_ctlcluster "$version" "$name" start; fi
fi
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done

run_as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse') THEN
    CREATE ROLE gatehouse LOGIN PASSWORD 'gatehouse';
  END IF;
END \$\$;
SQL
if ! run_as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'gatehouse_test'" | grep -q 1; then
    run_as_postgres createdb -p "$port" -O gatehouse gatehouse_test
fi
# Tests create one schema each; drop the ones earlier runs left behind, one
# transaction each (thousands in one would run out of lock slots).
run_as_postgres psql -q -p "$port" -d gatehouse_test -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages TO warning;
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
    COMMIT;
  END LOOP;
END $$;
SQL
echo "postgres://gatehouse:gatehouse@127.0.0.1:$port/gatehouse_test"
