#!/bin/bash
# Boot-to-contextualized timing of the tiny agent guest under libvirt/TCG, and the agent's
# own share of it. Label bench (never run by the test command); needs root.
#
#   bench/e2e_boot.sh CLOUDTWIN CLOUDTWIN-AGENT [RUNS=5] [FULL_RUNS=1]
#
# Then FULL_RUNS boots of the cloud-init guest (scripts/build-full-guest.sh: Debian 12 +
# cloud-init, no cloudtwin), EC2 SMBIOS, no CD, context from cloudtwin-metadata, until
# cloud-init prints "finished at"; reported next to the agent guest's figures as a ratio.
# FULL_RUNS=0 skips it (its first build takes ~2-3 min; cached in /var/cache/cloudtwin-tests).
#
# Each run: `cloudtwin vm create` in a sandbox (tests/e2e/sandbox.sh), serial console read
# from the pty, until the guest prints its status. Reported per run and as medians:
#   create   wall time of `cloudtwin vm create` (define + context CD + start)
#   boot     create returned -> status JSON printed (wall)
#   uptime   the guest's own uptime when /init printed the status (kernel + init + agent)
#   agent    local + final duration-ms from the agent's status JSON
# Reference: TESTBED.md's tiny guest boots to a shell in ~3 s guest time, ~6 s wall (plain
# qemu, no libvirt, no agent).
set -euo pipefail
CLI=$(readlink -f "$1")
AGENT=$(readlink -f "$2")
RUNS=${3:-5}
FULL_RUNS=${4:-1}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[[ $(id -u) == 0 ]] || { echo "e2e_boot: needs root"; exit 0; }
W=$(mktemp -d /tmp/cloudtwin-e2e-bench.XXXXXX)
chmod 711 "$W"
SB=$W/sandbox
trap '"$SRC/tests/e2e/sandbox.sh" stop "$SB" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }

GUEST=${CT_GUEST_DIR:-$(dirname "$CLI")/../guest-agent}  # shared with tests/e2e: built once
"$SRC/scripts/build-tiny-guest.sh" "$GUEST" --agent "$AGENT" >/dev/null
mkdir -p "$W/guest" "$W/instances" "$W/images"
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$W/guest/"
printf '[libvirt]\nuri = qemu:///system\ndomain_type = qemu\n[storage]\ninstances = %s\nimages = %s\n[network]\nnwfilter = none\n' \
  "$W/instances" "$W/images" >"$W/host.conf"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyNotReal00000000000000000000000000000 bench" >"$W/key.pub"
cat >"$W/vm.tmpl" <<TMPL
MEMORY = 256
OS = [ KERNEL = "$W/guest/vmlinuz", INITRD = "$W/guest/initrd.img",
       KERNEL_CMD = "console=ttyS0 panic=-1 cloudtwin.agent=1 cloudtwin.keep=1" ]
NIC = [ NETWORK = "bench" ]
TMPL
CT_LIBVIRT_CACHE=${CT_LIBVIRT_CACHE:-$(dirname "$CLI")/../e2e-libvirt-cache} \
  "$SRC/tests/e2e/sandbox.sh" start "$SB" >/dev/null
in_sb() { "$SRC/tests/e2e/sandbox.sh" exec "$SB" "$@"; }
in_sb "$CLI" --config "$W/host.conf" net create bench --cidr 10.78.0.0/24 >/dev/null

printf '%-4s %9s %9s %9s %9s\n' run create_s boot_s uptime_s agent_s
: >"$W/results"
for i in $(seq "$RUNS"); do
  t0=$(ms)
  in_sb "$CLI" --config "$W/host.conf" vm create "$W/vm.tmpl" --name "b$i" --ssh-key "$W/key.pub" >/dev/null
  t1=$(ms)
  pty=$(in_sb virsh -c qemu:///system ttyconsole "b$i")
  cat "$pty" >"$W/console-$i.log" 2>/dev/null &
  cat_pid=$!
  until grep -q '^CLOUDTWIN-BOOT-SECONDS=' "$W/console-$i.log" 2>/dev/null; do
    (($(ms) - t1 < 150000)) || { echo "run $i: no status in 150 s"; tail "$W/console-$i.log"; exit 1; }
    sleep 0.05
  done
  t2=$(ms)
  kill "$cat_pid" 2>/dev/null || true
  tr -d '\r' <"$W/console-$i.log" | sed -n '/=== CLOUDTWIN-STATUS-BEGIN ===/,/=== CLOUDTWIN-STATUS-END ===/p' |
    sed '1d;$d' >"$W/status-$i.json"
  uptime=$(tr -d '\r' <"$W/console-$i.log" | sed -n 's/^CLOUDTWIN-BOOT-SECONDS=//p')
  agent=$(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"]; print("%.3f" % (sum(v["duration-ms"] for v in s.values())/1000))' "$W/status-$i.json")
  line=$(awk -v a="$((t1 - t0))" -v b="$((t2 - t1))" -v u="$uptime" -v g="$agent" \
    'BEGIN{printf "%9.2f %9.2f %9.2f %9.3f", a/1000, b/1000, u, g}')
  printf '%-4s %s\n' "$i" "$line"
  echo "$line" >>"$W/results"
  in_sb "$CLI" --config "$W/host.conf" vm delete "b$i" >/dev/null
done
median() { sort -n | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '%-4s' med
for col in 1 2 3 4; do printf ' %9s' "$(awk -v c=$col '{print $c}' "$W/results" | median)"; done
echo
up=$(awk '{print $3}' "$W/results" | median)
ag=$(awk '{print $4}' "$W/results" | median)
awk -v u="$up" -v g="$ag" 'BEGIN{printf "agent share of guest boot-to-contextualized: %.1f %%\n", 100*g/u}'

((FULL_RUNS > 0)) || exit 0
# --- the cloud-init guest ---
METADATA=$(dirname "$CLI")/../metadata-server/cloudtwin-metadata
FULL=${CT_FULL_GUEST_DIR:-$(dirname "$CLI")/../guest-full}
"$SRC/scripts/build-full-guest.sh" "$FULL" | tail -n1
cp "$FULL/vmlinuz" "$W/guest/full-vmlinuz"
cp "$FULL/initrd.img" "$W/guest/full-initrd.img"
ln -f "$FULL/disk.qcow2" "$W/images/debian12-cloud.qcow2" 2>/dev/null ||
  cp "$FULL/disk.qcow2" "$W/images/debian12-cloud.qcow2"
mkdir -p "$W/records"
# shellcheck disable=SC2016  # $0/$@ are for the inner sh
in_sb sh -c '"$@" >"$0" 2>&1 &' "$W/metadata.log" "$METADATA" --listen 169.254.169.254:80 \
  --instances "$W/records" --identity-key "$W/identity.key" --identity-cert "$W/identity.crt"
for _ in $(seq 100); do grep -qs "listening on" "$W/metadata.log" && break; sleep 0.1; done
cat >"$W/full.tmpl" <<TMPL
MEMORY = 768
OS = [ KERNEL = "$W/guest/full-vmlinuz", INITRD = "$W/guest/full-initrd.img",
       KERNEL_CMD = "console=ttyS0 root=/dev/vda rw" ]
DISK = [ IMAGE = "debian12-cloud.qcow2" ]
NIC = [ NETWORK = "bench" ]
EC2 = [ INSTANCETYPE = "t3.micro", HTTP_TOKENS = "required" ]
CONTEXT_CD = NO
TMPL
key=$(cat "$W/key.pub")
printf '%-4s %9s %9s %9s\n' full create_s boot_s uptime_s
: >"$W/full-results"
for i in $(seq "$FULL_RUNS"); do
  t0=$(ms)
  out=$(in_sb "$CLI" --config "$W/host.conf" vm create "$W/full.tmpl" --name "f$i" --ssh-key "$W/key.pub")
  t1=$(ms)
  ip=$(sed -n 's/.* \([0-9.]*\)@.*/\1/p' <<<"$out" | head -n1)
  [[ -n $ip ]] || ip=$(grep -o '[0-9]*\.[0-9]*\.[0-9]*\.[0-9]*@' <<<"$out" | head -n1 | tr -d @)
  id=$(in_sb "$CLI" --config "$W/host.conf" vm show "f$i" --json | grep -o '"instance-id":"[^"]*"' | head -n1 | cut -d'"' -f4)
  # shellcheck disable=SC2086  # one argument per octet
  mac=$(printf '02:00:%02x:%02x:%02x:%02x' ${ip//./ })
  printf '{"instance-id": "%s", "local-hostname": "f%s", "network-interfaces": [{"mac": "%s", "device-number": 0, "local-ipv4s": ["%s"], "subnet-ipv4-cidr-block": "10.78.0.0/24"}], "public-keys": [{"name": "default", "openssh-key": "%s"}], "user-data": "#cloud-config\\nruncmd:\\n  - echo ran > /run/bench-marker\\n", "metadata-options": {"http-tokens": "required"}}\n' \
    "$id" "$i" "$mac" "$ip" "$key" >"$W/records/.f$i.tmp"
  mv "$W/records/.f$i.tmp" "$W/records/f$i.json"
  pty=$(in_sb virsh -c qemu:///system ttyconsole "f$i")
: >"$W/full-console-$i.log"
  cat "$pty" >>"$W/full-console-$i.log" 2>/dev/null &
  cat_pid=$!
  until tr -d '\r' <"$W/full-console-$i.log" | grep -q 'Cloud-init v\. .* finished at '; do
    (($(ms) - t1 < 900000)) || { echo "full run $i: cloud-init did not finish in 900 s"; tail "$W/full-console-$i.log"; exit 1; }
    sleep 0.2
  done
  t2=$(ms)
  kill "$cat_pid" 2>/dev/null || true
  fin=$(tr -d '\r' <"$W/full-console-$i.log" | grep 'Cloud-init v\. .* finished at ' | head -n1)
  grep -q DataSourceEc2 <<<"$fin" || echo "full run $i: not the EC2 datasource: $fin"
  uptime=$(sed -n 's/.* Up \([0-9.]*\) seconds.*/\1/p' <<<"$fin")
  line=$(awk -v a="$((t1 - t0))" -v b="$((t2 - t1))" -v u="$uptime" 'BEGIN{printf "%9.2f %9.2f %9.2f", a/1000, b/1000, u}')
  printf '%-4s %s\n' "f$i" "$line"
  echo "$line" >>"$W/full-results"
  in_sb "$CLI" --config "$W/host.conf" vm delete "f$i" >/dev/null
done
fb=$(awk '{print $2}' "$W/full-results" | median)
fu=$(awk '{print $3}' "$W/full-results" | median)
tb=$(awk '{print $2}' "$W/results" | median)
awk -v fb="$fb" -v fu="$fu" -v tb="$tb" -v tu="$up" 'BEGIN{
  printf "boot-to-contextualized, median: agent guest %.2f s wall (%.2f s guest), cloud-init guest %.2f s wall (%.2f s guest)\n", tb, tu, fb, fu
  printf "ratio cloud-init / agent: %.1fx wall, %.1fx guest uptime\n", fb/tb, fu/tu}'
