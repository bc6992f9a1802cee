#!/usr/bin/env bash
# The SQLite store under load, over HTTP (issue 12's targets): durable POST /Users with 16
# clients, and the latency of indexed lookups and discovery while an expensive search loops
# in the background. Loopback only; bounded in time.
#
#   benches/http/load.sh            # from the project root; needs wrk and python3
#   USERS=20000 SECONDS_EACH=8 benches/http/load.sh
#   CONFIG=file.json benches/http/load.sh   # e.g. {"max_scan": 1000000000000} to let the search run to its budget
set -euo pipefail
P="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$P/benches/http"
USERS=${USERS:-20000}
S=${SECONDS_EACH:-8}
cargo build --release -q -p scim-cli --manifest-path "$P/Cargo.toml"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
DB=$(mktemp -d)/load.db
SP=$(port)
"$P/target/release/scim" serve --addr 127.0.0.1:$SP --token bench --db "$DB" ${CONFIG:+--config "$CONFIG"} >/dev/null 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; kill $LOOP 2>/dev/null || true' EXIT
B=http://127.0.0.1:$SP/scim/v2
for i in $(seq 50); do curl -sf -o /dev/null -H 'Authorization: Bearer bench' $B/ServiceProviderConfig && break; sleep 0.1; done

# The share of the machine's CPU time its host took (steal) while a command ran: on a shared
# virtual machine a run that lost much to it says little.
stolen() {
  local a b
  a=$(grep '^cpu ' /proc/stat 2>/dev/null || true)
  "$@"
  b=$(grep '^cpu ' /proc/stat 2>/dev/null || true)
  [ -n "$a" ] && python3 -c "
a=list(map(int,'$a'.split()[1:])); b=list(map(int,'$b'.split()[1:])); d=[y-x for x,y in zip(a,b)]
print('   (steal: %.0f%% of the CPU time during the run)' % (100 * d[7] / max(1, sum(d))))"
}

echo "== durable POST /Users, 16 clients, ${S}s (SQLite, synchronous=FULL)"
post() { wrk -t2 -c16 -d${S}s -s "$HERE/create-user.lua" $B/Users 2>&1 | grep -E 'Requests/sec|Latency|unexpected' | sort | uniq -c; }
stolen post

echo "== loading $USERS users through /Bulk"
python3 - "$B" "$USERS" <<'PY'
import json,sys,urllib.request
B=sys.argv[1]; n=int(sys.argv[2])
for k in range(0,n,1000):
    ops=[{"method":"POST","path":"/Users","bulkId":f"u{i}","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":f"user{i}","displayName":f"User {i}","title":f"Engineer {i%977}"}} for i in range(k,min(n,k+1000))]
    body=json.dumps({"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":ops}).encode()
    r=urllib.request.Request(B+"/Bulk",data=body,method="POST",headers={"Authorization":"Bearer bench","Content-Type":"application/scim+json"})
    urllib.request.urlopen(r).read()
PY
ID=$(curl -s -G -H 'Authorization: Bearer bench' --data-urlencode 'filter=userName eq "user500"' $B/Users | python3 -c 'import json,sys;print(json.load(sys.stdin)["Resources"][0]["id"])')

# The background: one client looping a 200-term `title co` search.
python3 - "$B" > /tmp/load-search.txt <<'PY' &
import json,sys,time,urllib.request,urllib.error
B=sys.argv[1]
f=" or ".join(f'title co "zq{i}x"' for i in range(200))
body=json.dumps({"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":f}).encode()
end=time.time()+60; n=0; codes={}
while time.time()<end:
    r=urllib.request.Request(B+"/Users/.search",data=body,method="POST",headers={"Authorization":"Bearer bench","Content-Type":"application/scim+json"})
    try:
        c=urllib.request.urlopen(r).status
    except urllib.error.HTTPError as e:
        c=e.code
    codes[c]=codes.get(c,0)+1
    print(codes, flush=True)
PY
LOOP=$!
sleep 1
for what in "GET /Users/{id}|$B/Users/$ID" "userName eq|$B/Users?filter=userName%20eq%20%22user500%22" "ServiceProviderConfig|$B/ServiceProviderConfig"; do
  name=${what%%|*}; url=${what#*|}
  echo "== $name, 4 clients, while the 200-term search loops"
  wrk -t2 -c4 -d${S}s --latency -H 'Authorization: Bearer bench' "$url" 2>&1 | grep -E 'Requests/sec|^ +(50|99)%'
done
echo "== the background search's answers: $(tail -1 /tmp/load-search.txt)"
