#!/bin/bash
# Boot-to-contextualized timing of the tiny agent guest under libvirt/TCG, and the agent's
# own share of it. Label bench (never run by the test command); needs root.
#
#   bench/e2e_boot.sh CLOUDTWIN CLOUDTWIN-AGENT [RUNS=5]
#
# Each run: `cloudtwin vm create` in a sandbox (tests/e2e/sandbox.sh), serial console read
# from the pty, until the guest prints its status. Reported per run and as medians:
#   create   wall time of `cloudtwin vm create` (define + context CD + start)
#   boot     create returned -> status JSON printed (wall)
#   uptime   the guest's own uptime when /init printed the status (kernel + init + agent)
#   agent    local + final duration_ms from the agent's status JSON
# Reference: TESTBED.md's tiny guest boots to a shell in ~3 s guest time, ~6 s wall (plain
# qemu, no libvirt, no agent).
set -euo pipefail
CLI=$(readlink -f "$1")
AGENT=$(readlink -f "$2")
RUNS=${3:-5}
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
  agent=$(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"]; print("%.3f" % (sum(v["duration_ms"] for v in s.values())/1000))' "$W/status-$i.json")
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
