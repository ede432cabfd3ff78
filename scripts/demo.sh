#!/usr/bin/env bash
# The main job: installs what it needs, builds everything, and shows cloudtwin at work.
#  1. the EC2-compatible metadata service serves a sample VM on loopback and is queried the
#     way an EC2 image queries it (IMDSv2 token, then GETs, signature check);
#  2. a sandbox (network + mount namespace with its own libvirtd, tests/e2e/sandbox.sh):
#     cloudtwin-metadata, `cloudtwin net create`, `cloudtwin vm create` of the tiny guest
#     with cloudtwin-agent; progress while it boots, then what the guest reports.
# Everything is torn down at the end; the host is left as it was.
#
#   scripts/demo.sh          run, show, tear down
#   scripts/demo.sh --keep   leave the services and the VM running and say how to reach them
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=0
[[ ${1:-} == --keep ]] && KEEP=1

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "installing Debian packages (scripts/install-deps.sh)"
scripts/install-deps.sh

say "building (cmake --preset release)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" | tail -1
BIN=build/release

say "what exists"
for exe in "$BIN/host/cloudtwin" "$BIN/metadata-server/cloudtwin-metadata" "$BIN/agent/cloudtwin-agent"; do
  printf '  %-40s %s\n' "${exe#"$BIN"/}" "$("$exe" --version)"
done

WORK=$(mktemp -d /tmp/cloudtwin-demo.XXXXXX)
chmod 711 "$WORK"  # qemu runs as libvirt-qemu and must reach the guest's files
SANDBOX=$WORK/sandbox
PID=""
CONSOLE_PID=""
cleanup() {
  if [[ -n $CONSOLE_PID ]]; then kill "$CONSOLE_PID" 2>/dev/null || true; fi
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  # Kills what runs in the sandbox (libvirtd, dnsmasq, qemu, cloudtwin-metadata) and
  # deletes its namespace; a no-op when it never started.
  tests/e2e/sandbox.sh stop "$SANDBOX" || true
  rm -rf "$WORK"
}
if [[ $KEEP == 0 ]]; then trap cleanup EXIT; fi

say "starting cloudtwin-metadata on loopback with one sample VM (IMDSv2 required)"
mkdir -p "$WORK/instances"
cp scripts/demo/instance.json "$WORK/instances/"
"$BIN/metadata-server/cloudtwin-metadata" --listen 127.0.0.1:0 --instances "$WORK/instances" \
  --identity-key "$WORK/identity.key" --identity-cert "$WORK/identity.crt" --access-log \
  >"$WORK/metadata.log" 2>&1 &
PID=$!
for _ in $(seq 50); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/metadata.log" | head -1)
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n ${PORT:-} ]] || { cat "$WORK/metadata.log"; echo "metadata service did not start"; exit 1; }
URL=http://127.0.0.1:$PORT
echo "listening on $URL (pid $PID); key and self-signed cert in $WORK (key mode $(stat -c %a "$WORK/identity.key"))"

say "an IMDSv1 GET is refused: this VM requires tokens"
run curl -s -o /dev/null -w '%{http_code}\n' "$URL/latest/meta-data/instance-id"

say "IMDSv2: get a token, then read the tree as an EC2 image would"
printf '$ TOKEN=$(curl -s -X PUT %s/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")\n' "$URL"
TOKEN=$(curl -s -X PUT "$URL/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
H="X-aws-ec2-metadata-token: $TOKEN"
for path in meta-data/ meta-data/instance-id meta-data/local-ipv4 meta-data/mac \
            meta-data/public-keys/ meta-data/public-keys/0/openssh-key user-data; do
  printf '\n$ curl -H "X-aws-ec2-metadata-token: $TOKEN" %s/latest/%s\n' "$URL" "$path"
  curl -s -H "$H" "$URL/latest/$path"; echo
done

say "the MAC rule: 02:00 + the IPv4 bytes"
MAC=$(curl -s -H "$H" "$URL/latest/meta-data/mac")
IP=$(curl -s -H "$H" "$URL/latest/meta-data/local-ipv4")
printf '  mac %s  <->  ip %s\n' "$MAC" "$IP"

say "instance identity document, signed by the host key and verified with openssl"
curl -s -H "$H" "$URL/latest/dynamic/instance-identity/document" >"$WORK/document"
cat "$WORK/document"; echo
{ echo "-----BEGIN PKCS7-----"; curl -s -H "$H" "$URL/latest/dynamic/instance-identity/pkcs7"; echo; echo "-----END PKCS7-----"; } >"$WORK/pkcs7.pem"
run openssl smime -verify -in "$WORK/pkcs7.pem" -inform PEM -content "$WORK/document" \
  -certfile "$WORK/identity.crt" -noverify -out /dev/null

say "access log (tokens and secrets are never logged)"
sed -n '1,20p' "$WORK/metadata.log"

source scripts/demo/vm_part.sh
