#!/usr/bin/env bash
# GET /Users/{id} on `scim serve` over plain HTTP and over HTTPS (rustls, ring), same wrk
# flags as ../shared/bench-http/run.sh, in one run: read the ratio, not the absolute numbers
# (the machine is shared). In-memory store, 1,000 users loaded through /Bulk. wrk keeps its
# connections alive, so this measures TLS records, not handshakes. Loopback only.
#
#   benches/http/tls.sh             # from the project root; needs wrk, openssl, python3, curl
#   HB_SECONDS=4 benches/http/tls.sh
set -euo pipefail
P="$(cd "$(dirname "$0")/../.." && pwd)"
cargo build --release -q -p scim-cli --manifest-path "$P/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$P/target}/release/scim"
T=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
W="wrk -t2 -c16 -d${HB_SECONDS:-8}s"
rps() { $W "$@" 2>/dev/null | awk '/Requests\/sec/ {print int($2)}'; }

# Starts a server (plain, or tls), loads the users, prints the rate of GET /Users/{id}.
measure() {
  local mode=$1 sp scheme=http args=()
  sp=$(port)
  if [ "$mode" = tls ]; then scheme=https; args=(--tls-cert "$T/cert.pem" --tls-key "$T/key.pem"); fi
  "$BIN" serve --addr 127.0.0.1:$sp --token bench --db :memory: "${args[@]}" >/dev/null 2>&1 &
  PIDS+=($!)
  local b=$scheme://127.0.0.1:$sp/scim/v2
  for _ in $(seq 50); do curl -skf -o /dev/null -H 'Authorization: Bearer bench' "$b/ServiceProviderConfig" && break; sleep 0.1; done
  python3 - "$b" <<'PY'
import json, ssl, sys, urllib.request
b = sys.argv[1]
ctx = ssl._create_unverified_context()  # the throwaway certificate made above
ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"user{i}",
    "displayName": f"User {i}",
    "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}]}}
    for i in range(1000)]
for k in range(0, 1000, 100):
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                       "Operations": ops[k:k + 100]}).encode()
    r = urllib.request.Request(b + "/Bulk", data=body, method="POST", headers={
        "Authorization": "Bearer bench", "Content-Type": "application/scim+json"})
    urllib.request.urlopen(r, context=ctx).read()
PY
  local id
  id=$(curl -sk -G -H 'Authorization: Bearer bench' --data-urlencode 'filter=userName eq "user500"' "$b/Users" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["Resources"][0]["id"])')
  rps -H 'Authorization: Bearer bench' "$b/Users/$id"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

measure plain >"$T/plain"
measure tls >"$T/tls"
plain=$(cat "$T/plain") tls=$(cat "$T/tls")
echo "scim serve GET /Users/{id}: plain HTTP $plain req/s, HTTPS $tls req/s ($(python3 -c "print(f'{$tls/$plain:.2f}')")x)"
