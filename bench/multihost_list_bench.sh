#!/usr/bin/env bash
# Issue 14: `cloudtwin vm list` across 2 hosts x 500 defined domains (both hosts asked at
# once, one thread and one connection each) vs `virsh list --all` on each host in sequence.
# The hosts are libvirt test-driver node files (test:///PATH.xml: 500 domains each, parsed
# at every connection, in process; no daemon, no root). The local host of the run is
# test:///default (one domain), which cloudtwin also lists.
# Usage: multihost_list_bench.sh CLOUDTWIN [RUNS]
set -euo pipefail
cli=${1:?usage: multihost_list_bench.sh CLOUDTWIN [RUNS]}
runs=${2:-10}
command -v virsh >/dev/null || { echo "multihost_list_bench: virsh not installed (libvirt-clients)"; exit 0; }
dir=$(mktemp -d /tmp/cloudtwin-listbench-XXXXXX)
trap 'rm -rf "$dir"' EXIT

for h in 1 2; do
  {
    echo "<node>"
    for i in $(seq 1 500); do
      echo "<domain type='test'><name>h${h}-vm${i}</name><memory>65536</memory><vcpu>1</vcpu>"
      echo "<os><type>hvm</type></os></domain>"
    done
    echo "</node>"
  } >"$dir/kvm$h.xml"
done
printf '[libvirt]\nuri = test:///default\n[inventory]\npath = %s/inventory.db\n' "$dir" >"$dir/host.conf"
"$cli" --config "$dir/host.conf" host add kvm1 "test://$dir/kvm1.xml" >/dev/null
"$cli" --config "$dir/host.conf" host add kvm2 "test://$dir/kvm2.xml" >/dev/null
listed=$("$cli" --config "$dir/host.conf" vm list | tail -n +2 | wc -l)
ref_listed=$( (virsh -c "test://$dir/kvm1.xml" list --all; virsh -c "test://$dir/kvm2.xml" list --all) | grep -c -- '-vm')
echo "cloudtwin vm list lists $listed VMs (500 + 500 + test:///default's 1); virsh lists $ref_listed"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=() ref=()
for _ in $(seq 1 "$runs"); do
  t0=$(now)
  "$cli" --config "$dir/host.conf" vm list >/dev/null
  t1=$(now)
  virsh -c "test://$dir/kvm1.xml" list --all >/dev/null
  virsh -c "test://$dir/kvm2.xml" list --all >/dev/null
  t2=$(now)
  ours+=($(((t1 - t0) / 1000)))
  ref+=($(((t2 - t1) / 1000)))
done
o=$(printf '%s\n' "${ours[@]}" | median)
r=$(printf '%s\n' "${ref[@]}" | median)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v o="$o" -v r="$r" -v n="$runs" 'BEGIN {
  printf "vm list, 2 hosts x 500 domains (median of %d): cloudtwin %.1f ms, virsh list --all x2 in sequence %.1f ms, ratio (virsh/cloudtwin) %.2f\n", n, o / 1000, r / 1000, r / o }'
