#!/bin/bash
# The overlay VPN (issue 6's benchmark), between network namespaces as in
# vpn/tests/openvpn_netns_test.cpp:
#   host      LAN bridge br0 192.168.77.1/24 + the OpenVPN server from `cloudtwin vpn`;
#   local-vm  192.168.77.10 on a veth in br0;
#   remote-vm reaches host only over wan0, a veth standing for the internet.
# 1. Join time: from the start of `cloudtwin-agent final` (given only its context CD:
#    ETH0_* for wan0 and VPN_PROFILE_BASE64) to the first ping from remote-vm to local-vm
#    that succeeds across the tunnel. Median of RUNS (5) joins, each from a fresh agent
#    root (the previous join's openvpn is stopped first). `local` runs before, untimed.
# 2. iperf3 (-t SECONDS, both directions) remote-vm <-> local-vm through the tunnel, and
#    over the same veths routed by host without it; Mbit/s of both and the ratio.
# All traffic stays in the namespaces this script creates and removes.
#
# usage: vpn_bench.sh [CLOUDTWIN_BINARY] [CLOUDTWIN_AGENT_BINARY]
# Needs root. Registered with the ctest label `bench`, never run by default.
set -euo pipefail

CLI=${1:-build/ci/host/cloudtwin}
AGENT=${2:-build/ci/agent/cloudtwin-agent}
RUNS=${RUNS:-5}
IPERF_SECONDS=${IPERF_SECONDS:-5}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 0; }
for tool in openvpn iperf3 busybox genisoimage ip; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done
[ -x "$CLI" ] || { echo "vpn_bench: $CLI is not an executable" >&2; exit 1; }
[ -x "$AGENT" ] || { echo "vpn_bench: $AGENT is not an executable" >&2; exit 1; }
CLI=$(readlink -f "$CLI")
AGENT=$(readlink -f "$AGENT")

TMP=$(mktemp -d /tmp/cloudtwin-vpn-bench.XXXXXX)
H=ctvb-host-$$ L=ctvb-local-$$ R=ctvb-remote-$$
SERVER_PID= IPERF_PID=
stop_agent_vpn() {  # the agent's supervisor outlives the agent; it stops openvpn
  local pidfile=$1/run/cloudtwin/vpn-client.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  set +e  # a killed child's status must not cut the cleanup short
  for root in "$TMP"/root*; do [ -d "$root" ] && stop_agent_vpn "$root"; done
  [ -n "$IPERF_PID" ] && kill "$IPERF_PID" 2>/dev/null && wait "$IPERF_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  for ns in "$H" "$L" "$R"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# --- namespaces -------------------------------------------------------------------------
for ns in "$H" "$L" "$R"; do ip netns add "$ns"; done
ip -n "$H" link set lo up
ip -n "$H" link add br0 type bridge
ip -n "$H" addr add 192.168.77.1/24 dev br0
ip -n "$H" link set br0 up
ip -n "$H" link add wan0 type veth peer name wan0 address 02:00:c6:33:64:02 netns "$R"
ip -n "$H" addr add 198.51.100.1/30 dev wan0
ip -n "$H" link set wan0 up
ip -n "$H" link add vm0 type veth peer name eth0 netns "$L"
ip -n "$H" link set vm0 master br0 up
ip -n "$R" link set lo up  # wan0 is left to the agent's `local` stage
ip -n "$L" link set lo up
ip -n "$L" addr add 192.168.77.10/24 dev eth0
ip -n "$L" link set eth0 up

# --- VPN server ---------------------------------------------------------------------------
"$CLI" vpn init --state-dir "$TMP/vpn" --network-cidr 192.168.77.0/24 --gateway 192.168.77.1 \
  --bridge br0 --listen 198.51.100.1:1194 >/dev/null
"$CLI" vpn issue vm-remote --ip 192.168.77.50 --state-dir "$TMP/vpn" >/dev/null
ip netns exec "$H" openvpn --config "$TMP/vpn/server.conf" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "Initialization Sequence Completed" "$TMP/server.log" && break; sleep 0.1; done
grep -q "Initialization Sequence Completed" "$TMP/server.log" || { cat "$TMP/server.log"; exit 1; }

mkdir -p "$TMP/cd"
cat > "$TMP/cd/context.sh" <<CTX
VMID='vm-remote'
ETH0_MAC='02:00:c6:33:64:02'
ETH0_IP='198.51.100.2'
ETH0_MASK='255.255.255.252'
VPN_PROFILE_BASE64='$(base64 -w0 "$TMP/vpn/clients/vm-remote.ovpn")'
CTX
genisoimage -quiet -V CONTEXT -J -R -o "$TMP/context.iso" "$TMP/cd"

agent() {  # agent STAGE ROOT
  ip netns exec "$R" "$AGENT" "$1" --root "$2" --datasources context \
    --context-device "$TMP/context.iso" --vpn-wait 30 >>"$TMP/agent.log" 2>&1
}
ping_ok() {  # short-lived pings: one sent before the tunnel is up must not hold us 1 s
  ip netns exec "$R" timeout 0.3 busybox ping -c 1 -W 1 "$1" >/dev/null 2>&1
}

# --- plain path first: remote -> host (routing) -> local, no tunnel -----------------------
agent local "$TMP/root-plain"
ip netns exec "$H" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
ip -n "$L" route add default via 192.168.77.1
ip -n "$R" route add 192.168.77.0/24 via 198.51.100.1
ip netns exec "$L" iperf3 -s >"$TMP/iperf-server.log" 2>&1 &
IPERF_PID=$!
sleep 0.3
mbits() {  # mbits [-R]: receiver-side Mbit/s of remote -> local (or local -> remote with -R)
  ip netns exec "$R" iperf3 -c 192.168.77.10 -t "$IPERF_SECONDS" -f m "$@" |
    awk '/receiver/ {for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1)}'
}
ping_ok 192.168.77.10 || { echo "vpn_bench: no plain path" >&2; exit 1; }
PLAIN_UP=$(mbits)
PLAIN_DOWN=$(mbits -R)
ip -n "$R" route del 192.168.77.0/24 via 198.51.100.1

# --- join time ----------------------------------------------------------------------------
times=()
for run in $(seq "$RUNS"); do
  root="$TMP/root$run"
  agent local "$root"
  # The previous join's tunnel must be gone, or the ping below would prove nothing.
  if ip -n "$R" link show ctvpn0 >/dev/null 2>&1 || ping_ok 192.168.77.10; then
    echo "vpn_bench: run $run: local-vm is reachable before the agent starts" >&2; exit 1
  fi
  start=$(now)
  agent final "$root" &
  agent_pid=$!
  deadline=$(( $(date +%s) + 30 ))
  until ping_ok 192.168.77.10; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "vpn_bench: no tunnel after 30 s" >&2; tail -20 "$TMP/agent.log" >&2; exit 1; }
    sleep 0.02
  done
  end=$(now)
  wait "$agent_pid"
  ip -n "$R" route get 192.168.77.10 | grep -q "dev ctvpn0" ||
    { echo "vpn_bench: run $run: local-vm is not routed through the tunnel" >&2; exit 1; }
  times+=("$(awk -v a="$end" -v b="$start" 'BEGIN {printf "%.3f", a - b}')")
  # The last join stays up for the throughput runs.
  if [ "$run" -lt "$RUNS" ]; then stop_agent_vpn "$root"; fi
done

TUN_UP=$(mbits)
TUN_DOWN=$(mbits -R)

printf 'join time (agent final start -> ping across), %d runs: %s s\n' "$RUNS" "${times[*]}"
printf 'join time median: %.3f s\n' "$(printf '%s\n' "${times[@]}" | median)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
printf '%-28s %10s %10s %8s\n' "iperf3 -t $IPERF_SECONDS (Mbit/s)" "tunnel" "plain" "ratio"
printf '%-28s %10s %10s %8s\n' "remote -> local" "$TUN_UP" "$PLAIN_UP" "$(ratio "$TUN_UP" "$PLAIN_UP")"
printf '%-28s %10s %10s %8s\n' "local -> remote (-R)" "$TUN_DOWN" "$PLAIN_DOWN" "$(ratio "$TUN_DOWN" "$PLAIN_DOWN")"
