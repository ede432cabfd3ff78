#!/bin/bash
# `cloudtwin image import NAME http://...` of a 1 GiB raw disk image (a third of it data,
# the rest zeros, as disks are) from nginx on loopback, against the two-step pipeline a
# user would otherwise run on the same file in the same run:
#     curl -o disk.raw URL && qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2
# Both end with a qcow2 of the same disk (checked with qemu-img compare). RUNS (3) of
# each, alternated; medians, the ratio reference/import (> 1: the import is faster) and
# the peak RSS of both (GNU time). Runs in a network namespace of its own (unshare -n):
# nothing leaves loopback.
#
# usage: image_import_bench.sh [CLOUDTWIN_BINARY] [SIZE_MIB]
# Needs root. Registered with the ctest label `bench`, never run by default.
set -euo pipefail

CLI=${1:-build/ci/host/cloudtwin}
SIZE_MIB=${2:-1024}
RUNS=${RUNS:-3}
PORT=18080

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace"; exit 0; }
for tool in nginx curl qemu-img unshare /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done
[ -x "$CLI" ] || { echo "image_import_bench: $CLI is not an executable" >&2; exit 1; }
CLI=$(readlink -f "$CLI")

if [ -z "${IMAGE_BENCH_IN_NETNS:-}" ]; then
  exec env IMAGE_BENCH_IN_NETNS=1 unshare -n bash "$0" "$CLI" "$SIZE_MIB"
fi
ip link set lo up

TMP=$(mktemp -d /tmp/cloudtwin-image-bench.XXXXXX)
NGINX_PID=
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/www" "$TMP/images" "$TMP/instances" "$TMP/ref" "$TMP/nginx"

# The disk: 16 MiB of random data every 48 MiB, zeros between.
echo "image_import_bench: making a $SIZE_MIB MiB raw image"
truncate -s "${SIZE_MIB}M" "$TMP/www/disk.raw"
for ((off = 0; off < SIZE_MIB; off += 48)); do
  n=$((SIZE_MIB - off < 16 ? SIZE_MIB - off : 16))
  dd if=/dev/urandom of="$TMP/www/disk.raw" bs=1M seek="$off" count="$n" conv=notrunc status=none
done
cp --sparse=never "$TMP/www/disk.raw" "$TMP/www/disk.tmp" && mv "$TMP/www/disk.tmp" "$TMP/www/disk.raw"

cat >"$TMP/nginx.conf" <<CONF
daemon off;
master_process off;
error_log $TMP/nginx/error.log;
pid $TMP/nginx/pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  server { listen 127.0.0.1:$PORT; root $TMP/www; }
}
CONF
nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 50); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$PORT/disk.raw" && break; sleep 0.1; done

printf '[libvirt]\nuri = test:///default\n[storage]\nimages = %s\ninstances = %s\n' \
  "$TMP/images" "$TMP/instances" >"$TMP/host.conf"
URL="http://127.0.0.1:$PORT/disk.raw"

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

ours=() ref=() ours_rss=0 ref_rss=0
for ((i = 1; i <= RUNS; i++)); do
  sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now)
  /usr/bin/time -f %M -o "$TMP/rss" "$CLI" --config "$TMP/host.conf" image import "run$i" "$URL" --quiet >/dev/null
  t1=$(now)
  ours+=("$(calc "$t1 - $t0")")
  rss=$(cat "$TMP/rss"); ((rss > ours_rss)) && ours_rss=$rss

  sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now)
  /usr/bin/time -f %M -o "$TMP/rss.curl" curl -sf -o "$TMP/ref/disk.raw" "$URL"
  /usr/bin/time -f %M -o "$TMP/rss.qemu" qemu-img convert -f raw -O qcow2 "$TMP/ref/disk.raw" "$TMP/ref/disk.qcow2"
  t1=$(now)
  ref+=("$(calc "$t1 - $t0")")
  for f in rss.curl rss.qemu; do rss=$(cat "$TMP/$f"); ((rss > ref_rss)) && ref_rss=$rss; done

  qemu-img compare -q -f qcow2 -F qcow2 "$TMP/images/run$i" "$TMP/ref/disk.qcow2" ||
    { echo "image_import_bench: run $i: the imported image differs from the reference" >&2; exit 1; }
  printf 'run %d: import %.2f s, curl + qemu-img convert %.2f s\n' "$i" "${ours[-1]}" "${ref[-1]}"
  "$CLI" --config "$TMP/host.conf" image delete "run$i" >/dev/null
  rm -f "$TMP/ref/disk.raw" "$TMP/ref/disk.qcow2"
done

o=$(printf '%s\n' "${ours[@]}" | median)
r=$(printf '%s\n' "${ref[@]}" | median)
printf 'image import of %d MiB over HTTP (median of %d): %.2f s (%.0f MiB/s), peak RSS %d KiB\n' \
  "$SIZE_MIB" "$RUNS" "$o" "$(calc "$SIZE_MIB / $o")" "$ours_rss"
printf 'curl -o + qemu-img convert (same file, same run): %.2f s (%.0f MiB/s), peak RSS %d KiB\n' \
  "$r" "$(calc "$SIZE_MIB / $r")" "$ref_rss"
printf 'ratio (reference / import): %.2fx   load average: %s\n' "$(calc "$r / $o")" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
