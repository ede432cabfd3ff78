#!/bin/bash
# cloudtwin-agent's full run against cloud-init's comparable work (issue 4's benchmark).
#
#   bench/agent_bench.sh [CLOUDTWIN-AGENT] [CLOUDTWIN-METADATA] [RUNS=20]
#
# Two network namespaces joined by a veth pair, as a VM and its host:
#   vm   eth0 02:00:c0:a8:7a:0a, up, no address (the agent derives 192.168.122.10 from the MAC)
#   host veth with 192.168.122.1/24 and 169.254.169.254/32; the real cloudtwin-metadata
#        listens on 169.254.169.254:80 with one record (IMDSv2 required, one SSH key,
#        user-data "#!/bin/sh\ntrue")
# Each run, in the vm namespace (addresses, routes and neighbours flushed, a fresh --root first):
#   agent      `cloudtwin-agent local` then `cloudtwin-agent final` (EC2 datasource, MAC
#              fallback, network, hostname, keys, the no-op user script run once)
#   cloud-init fresh /usr/bin/python3 interpreters (interpreter start counted, as at boot):
#              DataSourceEc2.get_data() (IMDSv2 crawl) + get_userdata() (UserDataProcessor)
#              + public keys + network_config, and the same script run once (its shell-script
#              handler + scripts_user's runparts); the network is already up for it. Timed
#              twice: all in one interpreter, and split as it boots (and as local + final
#              are): get_data + obj.pkl in one, the rest from obj.pkl in a second.
# Prints the median wall times, the ratio and the agent's peak RSS (GNU time's %M), with
# the load average before and after (the machine may be shared).
# Every file of both sides (the agent's --root, cloud-init's cloud_dir, the service's
# records) is on a tmpfs of the bench's own, as a booting guest writes to a fresh
# filesystem of its own: on the host's busy /tmp (ext4, shared with builds that create
# and delete many files), each new inode cost a scan of the inode bitmap past recently
# deleted ones (ext4's find_inode_bit / recently_deleted: a quarter of the agent's final
# stage in perf), charged mostly to the agent, which writes its files atomically (a new
# inode each). AGENT_BENCH_DISK=1 keeps them on /tmp, as before.
# Needs root; nothing outside the two namespaces is touched (no route leaves them).
# Registered with the ctest label `bench`: never run by the test command.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
AGENT=$(readlink -f "${1:-$SRC/build/ci/agent/cloudtwin-agent}")
METADATA=$(readlink -f "${2:-$SRC/build/ci/metadata-server/cloudtwin-metadata}")
RUNS=${3:-20}

[[ $(id -u) == 0 ]] || { echo "SKIP: agent_bench needs root (network namespaces)"; exit 0; }
command -v ip >/dev/null || { echo "SKIP: iproute2 'ip' is not installed"; exit 0; }
/usr/bin/python3 -c 'import cloudinit.sources.DataSourceEc2' 2>/dev/null ||
  { echo "SKIP: Debian's cloud-init (/usr/bin/python3 -m cloudinit) is not installed"; exit 0; }
[[ -x $AGENT && -x $METADATA ]] || { echo "agent_bench: $AGENT or $METADATA missing" >&2; exit 1; }

VM=ctab-vm-$$
HOST=ctab-host-$$
TMP=$(mktemp -d /tmp/cloudtwin-agent-bench.XXXXXX)
MD_PID=
MOUNTED=
cleanup() {
  [[ -n $MD_PID ]] && kill "$MD_PID" 2>/dev/null && wait "$MD_PID" 2>/dev/null
  ip netns del "$VM" 2>/dev/null || true
  ip netns del "$HOST" 2>/dev/null || true
  [[ -n $MOUNTED ]] && umount "$TMP"
  rm -rf "/etc/netns/$VM" "$TMP"
}
trap cleanup EXIT
if [[ ${AGENT_BENCH_DISK:-0} != 1 ]] && mount -t tmpfs -o size=256m,mode=0700 cloudtwin-agent-bench "$TMP"; then
  MOUNTED=1
  echo "files of both sides on a tmpfs of the bench's own ($TMP)"
else
  echo "files of both sides on $(df --output=fstype "$TMP" | tail -1) ($TMP)"
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

ip netns add "$VM"
ip netns add "$HOST"
ip -n "$VM" link set lo up
ip -n "$HOST" link set lo up
ip -n "$VM" link add eth0 address 02:00:c0:a8:7a:0a type veth peer name veth-vm netns "$HOST"
ip -n "$HOST" addr add 192.168.122.1/24 dev veth-vm
ip -n "$HOST" addr add 169.254.169.254/32 dev veth-vm
ip -n "$HOST" link set veth-vm up
# Both ends up once, for the whole run (see reset_network in agent_bench.py), and a
# second for the kernel's link watcher to have activated both queues.
ip -n "$VM" link set eth0 up
sleep 1
# cloud-init resolves made-up names once per process: in the vm namespace they go to a
# resolver on lo that is not there (refused at once) instead of the machine's own.
mkdir -p "/etc/netns/$VM"
echo "nameserver 127.0.0.1" >"/etc/netns/$VM/resolv.conf"

# The guest's root as a booting image has it: /var/lib, /run and /root exist, only the
# agent's own directories are created by the run (4 mkdirs less charged to the agent).
mkdir -p "$TMP/instances" "$TMP/root/etc" "$TMP/root/var/lib" "$TMP/root/run" "$TMP/root/root"
chmod 0700 "$TMP/root/root"
cat >"$TMP/instances/bench.json" <<'JSON'
{"instance-id": "i-0bench000000000001", "local-hostname": "bench-vm.internal",
 "ami-id": "ami-0a887e401f7654935", "instance-type": "t3.micro",
 "placement": {"availability-zone": "us-east-1a"},
 "network-interfaces": [{"mac": "02:00:c0:a8:7a:0a", "device-number": 0,
   "local-ipv4s": ["192.168.122.10"], "subnet-ipv4-cidr-block": "192.168.122.0/24"}],
 "public-keys": [{"name": "bench", "openssh-key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyNotReal00000000000000000000000000000 bench"}],
 "user-data": "#!/bin/sh\ntrue\n",
 "metadata-options": {"http-tokens": "required"}}
JSON
cat >"$TMP/metadata.conf" <<CONF
[server]
listen = 169.254.169.254:80
instances_dir = $TMP/instances
# no control socket: nothing outside $TMP
ctl_socket =
[identity]
key = $TMP/id.key
cert = $TMP/id.crt
CONF
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$TMP/root/etc/passwd"
printf 'root:x:0:\n' >"$TMP/root/etc/group"

ip netns exec "$HOST" "$METADATA" --config "$TMP/metadata.conf" >"$TMP/md.out" 2>"$TMP/md.err" &
MD_PID=$!
for _ in $(seq 1 200); do
  grep -q "listening on" "$TMP/md.out" 2>/dev/null && break
  sleep 0.05
done
grep -q "listening on" "$TMP/md.out" || { echo "cloudtwin-metadata did not start:"; cat "$TMP/md.err"; exit 1; }

ip netns exec "$VM" /usr/bin/python3 "$SRC/bench/agent_bench.py" \
  --agent "$AGENT" --runs "$RUNS" --template "$TMP/root" --work "$TMP/runs" \
  --url http://169.254.169.254 --user-data $'#!/bin/sh\ntrue\n'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
