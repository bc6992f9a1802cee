#!/usr/bin/env bash
# GET /Users/{id} (and `userName eq`) through `scim serve` on each store beside the axum floor
# of ../shared/bench-http/ (its `floor/` handler, its `wrk -t2 -c16` method), in ONE run:
# floor, `--db :memory:`, a SQLite file, and `--db postgres://…` (issue 15's Postgres column).
# Read the ratios to the floor, not the absolute numbers (the machine is shared).
#
#   benches/http/floor-vs-stores.sh          # from anywhere; needs wrk, python3, curl, psql
#   HB_SECONDS=4 USERS=1000 benches/http/floor-vs-stores.sh
#   PG_TLS=disable benches/http/floor-vs-stores.sh     # the store's TLS mode (default: prefer)
#
# PostgreSQL: SCIM_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), in a
# schema of this run's own (scim_bench_http_<pid>_<read_cache>), dropped at exit; without a
# server the Postgres column says "skipped". Postgres is measured twice: with the read cache
# on (the default, `read_cache` 10000) and off (`read_cache` 0, every read a round trip).
# Loopback only; every server started is stopped at exit.
set -euo pipefail
P="$(cd "$(dirname "$0")/../.." && pwd)"
FLOOR_SRC="${FLOOR_SRC:-$P/../shared/bench-http/floor}"
T="${CARGO_TARGET_DIR:-$P/target}"
USERS=${USERS:-1000}
PG_URL=${SCIM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_SCHEMA=scim_bench_http_$$
W="wrk -t2 -c16 -d${HB_SECONDS:-8}s"

(cd "$FLOOR_SRC" && CARGO_TARGET_DIR="$T/bench-http-floor" cargo build --release -q)
cargo build --release -q -p scim-cli --manifest-path "$P/Cargo.toml"
FLOOR="$T/bench-http-floor/release/http-floor"
BIN="$T/release/scim"

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for cache in 10000 0; do
    psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS ${PG_SCHEMA}_$cache CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rps() { $W "$@" 2>/dev/null | awk '/Requests\/sec/ {print int($2)}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

# Starts `scim serve` on the store $1 (a --db value) with the extra arguments after it, loads
# $USERS users through /Bulk, prints "<GET req/s> <userName eq req/s>".
measure() {
  local db=$1 sp b id
  shift
  sp=$(port)
  "$BIN" serve --addr 127.0.0.1:"$sp" --token bench --db "$db" "$@" >"$TMP/serve-$sp.log" 2>&1 &
  PIDS+=($!)
  b=http://127.0.0.1:$sp/scim/v2
  for _ in $(seq 100); do curl -sf -o /dev/null -H 'Authorization: Bearer bench' "$b/ServiceProviderConfig" && break; sleep 0.1; done
  python3 - "$b" "$USERS" <<'PY'
import json, sys, urllib.request
b, n = sys.argv[1], int(sys.argv[2])
for k in range(0, n, 100):
    ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{i}",
        "displayName": f"User {i}",
        "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}]}}
        for i in range(k, min(n, k + 100))]
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "Operations": ops}).encode()
    r = urllib.request.Request(b + "/Bulk", data=body, method="POST", headers={
        "Authorization": "Bearer bench", "Content-Type": "application/scim+json"})
    res = json.load(urllib.request.urlopen(r))
    bad = [o for o in res["Operations"] if not str(o["status"]).startswith("201")]
    if bad:
        sys.exit(f"bulk load failed: {bad[0]}")
PY
  local probe=$((USERS / 2))
  id=$(curl -s -G -H 'Authorization: Bearer bench' --data-urlencode "filter=userName eq \"user$probe\"" "$b/Users" |
    python3 -c 'import json,sys;r=json.load(sys.stdin);assert r["totalResults"]==1,r;print(r["Resources"][0]["id"])')
  # The reference answer, checked once before timing.
  curl -sf -H 'Authorization: Bearer bench' "$b/Users/$id" |
    python3 -c "import json,sys;assert json.load(sys.stdin)['userName']=='user$probe'"
  echo "$(rps -H 'Authorization: Bearer bench' "$b/Users/$id") $(rps -H 'Authorization: Bearer bench' "$b/Users?filter=userName%20eq%20%22user$probe%22")"
  kill "${PIDS[-1]}"
  wait "${PIDS[-1]}" 2>/dev/null || true
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
FP=$(port)
"$FLOOR" 127.0.0.1:"$FP" &
PIDS+=($!)
sleep 0.5
floor=$(rps "http://127.0.0.1:$FP/scim/v2/Users/x")
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true
echo "floor GET: $floor req/s"

measure :memory: >"$TMP/mem"
read -r mem_get mem_eq <"$TMP/mem"
echo "scim serve (memory):   GET /Users/{id} $mem_get req/s ($(ratio "$mem_get" "$floor")x floor), userName eq $mem_eq"
measure "$TMP/bench.db" >"$TMP/sqlite"
read -r sql_get sql_eq <"$TMP/sqlite"
echo "scim serve (sqlite):   GET /Users/{id} $sql_get req/s ($(ratio "$sql_get" "$floor")x floor), userName eq $sql_eq"
if psql -q "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1; then
  # The default (the read cache on), then every read from the database (read_cache 0),
  # each in a schema of its own.
  for cache in 10000 0; do
    printf '{"postgres": {"schema": "%s_%s", "tls": "%s", "read_cache": %s}}\n' \
      "$PG_SCHEMA" "$cache" "${PG_TLS:-prefer}" "$cache" >"$TMP/pg.json"
    measure "$PG_URL" --config "$TMP/pg.json" >"$TMP/pg"
    read -r pg_get pg_eq <"$TMP/pg"
    echo "scim serve (postgres, tls ${PG_TLS:-prefer}, read_cache $cache): GET /Users/{id} $pg_get req/s ($(ratio "$pg_get" "$floor")x floor), userName eq $pg_eq"
  done
else
  echo "scim serve (postgres): skipped, no PostgreSQL at $(sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$PG_URL")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $USERS users, wrk -t2 -c16 -d${HB_SECONDS:-8}s"
