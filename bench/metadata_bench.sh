#!/bin/bash
# cloudtwin-metadata against nginx, side by side on loopback (issue 3's benchmark).
# The server holds 10,000 instance records; wrk (-t1 -c64, keep-alive) GETs a leaf
# with an IMDSv2 token. nginx (1 worker) serves the same bytes as a static file.
# Prints requests/s, p50 and p99 of both, the ratio, start-up time and RSS.
#
# usage: metadata_bench.sh [CLOUDTWIN_METADATA_BINARY] [SECONDS] [THREADS]
# Not a timed test: registered with the ctest label `bench`, never run by default.
set -euo pipefail

BIN=${1:-build/ci/metadata-server/cloudtwin-metadata}
SECONDS_PER_RUN=${2:-10}
THREADS=${3:-1}
RECORDS=${RECORDS:-10000}
MD_PORT=${MD_PORT:-18169}
NGINX_PORT=${NGINX_PORT:-18170}
LEAF=/latest/meta-data/ami-id

for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done
[ -x "$BIN" ] || { echo "metadata_bench: $BIN is not an executable" >&2; exit 1; }

TMP=$(mktemp -d /tmp/cloudtwin-md-bench.XXXXXX)
MD_PID= NGINX_PID=
cleanup() {
  [ -n "$MD_PID" ] && kill "$MD_PID" 2>/dev/null && wait "$MD_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"  # nginx's worker (nobody when started as root) reads $TMP/www

# 10,000 records: the first is served to 127.0.0.1 (wrk), the others to 10.x.y.z.
mkdir -p "$TMP/instances" "$TMP/www/latest/meta-data"
python3 - "$TMP/instances" "$RECORDS" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    ip = "127.0.0.1" if k == 0 else "10.%d.%d.%d" % (k >> 16 & 255, k >> 8 & 255, k & 255)
    mac = "02:00:%02x:%02x:%02x:%02x" % (10, k >> 16 & 255, k >> 8 & 255, k & 255)
    rec = {"instance-id": "i-%017x" % k, "ami-id": "ami-0a887e401f7654935",
           "instance-type": "t3.micro", "hostname": "vm%d.internal" % k,
           "placement": {"availability-zone": "us-east-1a"}, "account-id": "123456789012",
           "network-interfaces": [{"mac": mac, "local-ipv4s": [ip]}],
           "public-keys": [{"name": "k", "openssh-key": "ssh-ed25519 AAAA k"}],
           "user-data": "#cloud-config\n", "serve-to": [ip]}
    with open(os.path.join(d, "vm%05d.json" % k), "w") as f:
        json.dump(rec, f)
PY
printf 'ami-0a887e401f7654935' > "$TMP/www/latest/meta-data/ami-id"

cat > "$TMP/metadata.conf" <<CONF
[server]
listen = 127.0.0.1:$MD_PORT
instances_dir = $TMP/instances
threads = $THREADS
[identity]
key = $TMP/id.key
cert = $TMP/id.crt
[limits]
# wrk is one VM sending 64 connections flat out: the per-VM limits are lifted.
requests_per_second = 0
connections_per_vm = 0
CONF

cat > "$TMP/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/www;
  }
}
CONF

START=$(date +%s.%N)
"$BIN" --config "$TMP/metadata.conf" >"$TMP/md.out" 2>"$TMP/md.err" &
MD_PID=$!
for _ in $(seq 1 2400); do  # up to 120 s
  grep -q "listening on" "$TMP/md.out" 2>/dev/null && break
  sleep 0.05
done
READY=$(date +%s.%N)
grep -q "listening on" "$TMP/md.out" || { echo "server did not start:"; cat "$TMP/md.err"; exit 1; }
nginx -c "$TMP/nginx.conf" -p "$TMP" &
NGINX_PID=$!
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT$LEAF" && break
  sleep 0.05
done

TOKEN=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' \
  "http://127.0.0.1:$MD_PORT/latest/api/token")
MD_BODY=$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "http://127.0.0.1:$MD_PORT$LEAF")
NGINX_BODY=$(curl -sf "http://127.0.0.1:$NGINX_PORT$LEAF") || { cat "$TMP/nginx-error.log"; exit 1; }
[ "$MD_BODY" = "$NGINX_BODY" ] || { echo "bodies differ: '$MD_BODY' '$NGINX_BODY'"; exit 1; }

# Prints "requests/s p50_ms p99_ms non2xx".
measure() {
  local out
  out=$(wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" --latency -H "X-aws-ec2-metadata-token: $TOKEN" "$1")
  echo "$out" >>"$TMP/wrk.log"
  python3 - "$out" <<'PY'
import re, sys
t = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print("%.0f %.3f %.3f %s" % (rps, ms("50"), ms("99"), bad.group(1) if bad else "0"))
PY
}

read -r MD_RPS MD_P50 MD_P99 MD_BAD <<<"$(measure "http://127.0.0.1:$MD_PORT$LEAF")"
read -r NG_RPS NG_P50 NG_P99 NG_BAD <<<"$(measure "http://127.0.0.1:$NGINX_PORT$LEAF")"
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$MD_PID/status")

printf '%-20s %12s %9s %9s %8s\n' "" "requests/s" "p50 ms" "p99 ms" "non-2xx"
printf '%-20s %12s %9s %9s %8s\n' "cloudtwin-metadata" "$MD_RPS" "$MD_P50" "$MD_P99" "$MD_BAD"
printf '%-20s %12s %9s %9s %8s\n' "nginx (1 worker)" "$NG_RPS" "$NG_P50" "$NG_P99" "$NG_BAD"
python3 -c "import sys; a,b,c,d=map(float,sys.argv[1:]); print('ratio metadata/nginx: requests/s %.2f, p99 %.2f' % (a/b, c/d))" \
  "$MD_RPS" "$NG_RPS" "$MD_P99" "$NG_P99"
python3 -c "import sys; print('records %s, server ready after %.2f s, RSS %.1f MiB, threads %s' % (sys.argv[1], float(sys.argv[3]) - float(sys.argv[2]), int(sys.argv[4]) / 1024, sys.argv[5]))" \
  "$RECORDS" "$START" "$READY" "$RSS_KB" "$THREADS"
