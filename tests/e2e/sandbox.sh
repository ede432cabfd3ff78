#!/bin/bash
# A throwaway libvirt host inside this machine: its own network namespace (bridges, taps,
# NAT rules and qemu's traffic stay there) and its own mount namespace (tmpfs state dirs,
# a private copy of /etc/libvirt, and a libvirt-qemu user that exists only in
# bind-mounted copies of /etc/passwd and /etc/group). Approach of
# host/tests/smoke/libvirtd_smoke.sh; steps from /work/shared/TESTBED.md. Needs root.
#
#   sandbox.sh start DIR      start virtlogd + libvirtd; DIR (empty or missing) keeps the state
#   sandbox.sh exec DIR CMD…  run CMD inside (network + mount namespace of libvirtd)
#   sandbox.sh stop DIR       kill every process of the namespace, delete it, remove what
#                             start created on the host; DIR itself is left to the caller
#
# CT_LIBVIRT_CACHE=PATH keeps libvirt's QEMU capability cache there between runs (else the
# first domain of every sandbox waits for a fresh probe of QEMU).
# start prints the namespace name; DIR/sandbox.env holds NS=… and PID=… (libvirtd).
set -euo pipefail

die() {
  echo "sandbox: $*" >&2
  exit 1
}
STATE_DIRS="/run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt"

inner() {  # runs in the new mount namespace, inside the network namespace
  local dir=$1
  for d in $STATE_DIRS; do mount -t tmpfs -o mode=755 none "$d"; done
  if [[ -n ${CT_LIBVIRT_CACHE:-} ]]; then
    mkdir -p "$CT_LIBVIRT_CACHE"
    mount --bind "$CT_LIBVIRT_CACHE" /var/cache/libvirt
  fi
  cp -a /etc/libvirt "$dir/etc-libvirt"
  rm -f "$dir"/etc-libvirt/qemu/networks/autostart/*.xml "$dir"/etc-libvirt/qemu/autostart/*.xml
  # QEMU without its own /dev: libvirt would try to carry our /dev/kvm bind mount (below)
  # into it and fail.
  echo 'namespaces = []' >>"$dir/etc-libvirt/qemu.conf"
  mount --bind "$dir/etc-libvirt" /etc/libvirt
  cp /etc/passwd "$dir/passwd"
  cp /etc/group "$dir/group"
  if ! grep -q '^libvirt-qemu:' "$dir/passwd"; then
    echo "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin" >>"$dir/passwd"
    grep -q '^libvirt-qemu:' "$dir/group" || echo "libvirt-qemu:x:64055:" >>"$dir/group"
  fi
  # KVM does not work on these machines (TESTBED.md), and when QEMU's user and root disagree
  # on whether /dev/kvm is usable, libvirt re-probes QEMU at every domain start (~56 s
  # instead of ~0.35 s). Hide it: an empty file in its place is unusable for everyone.
  if [[ -e /dev/kvm ]]; then
    : >"$dir/no-kvm"
    chmod 600 "$dir/no-kvm"
    mount --bind "$dir/no-kvm" /dev/kvm
  fi
  mount --bind "$dir/passwd" /etc/passwd
  mount --bind "$dir/group" /etc/group
  mkdir -p /var/log/libvirt
  ip link set lo up
  virtlogd -d -p "$dir/virtlogd.pid"
  libvirtd -d -p "$dir/libvirtd.pid"
}

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || die "usage: sandbox.sh start|exec|stop DIR [CMD...]"
case $cmd in
  start)
    [[ $(id -u) == 0 ]] || die "needs root (network and mount namespaces)"
    for p in libvirtd virtlogd ip unshare nsenter; do
      command -v "$p" >/dev/null || die "$p is not installed (scripts/install-deps.sh)"
    done
    mkdir -p "$dir"
    dir=$(readlink -f "$dir")
    chmod 711 "$dir"  # qemu runs as libvirt-qemu and must reach files below DIR
    [[ ! -e $dir/sandbox.env ]] || die "$dir already holds a sandbox (stop it first)"
    : >"$dir/created"
    for d in $STATE_DIRS; do
      [[ -d $d ]] || { mkdir -p "$d" && echo "$d" >>"$dir/created"; }
    done
    ns=ct-e2e-$$
    ip netns add "$ns"
    echo "NS=$ns" >"$dir/sandbox.env"
    ip netns exec "$ns" unshare -m --propagation private "$0" __inner "$dir" ||
      { "$0" stop "$dir"; die "libvirtd did not start"; }
    for _ in $(seq 100); do
      pid=$(cat "$dir/libvirtd.pid" 2>/dev/null || true)
      if [[ -n $pid ]] && nsenter -t "$pid" -m -n test -S /run/libvirt/libvirt-sock; then
        echo "PID=$pid" >>"$dir/sandbox.env"
        echo "$ns"
        exit 0
      fi
      sleep 0.1
    done
    "$0" stop "$dir"
    die "libvirtd did not open /run/libvirt/libvirt-sock within 10 s"
    ;;
  __inner) inner "$dir" ;;
  exec)
    shift 2
    # shellcheck disable=SC1091
    source "$dir/sandbox.env"
    exec nsenter -t "$PID" -m -n --wd="$PWD" "$@"
    ;;
  stop)
    [[ -f $dir/sandbox.env ]] || exit 0
    # shellcheck disable=SC1091
    source "$dir/sandbox.env"
    # Every process of the namespace: libvirtd, virtlogd, dnsmasq, qemu. qemu is not
    # libvirtd's child after daemonizing, so killing libvirtd alone would leave guests.
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill $pids 2>/dev/null || true
      for _ in $(seq 50); do
        [[ -z $(ip netns pids "$NS" 2>/dev/null) ]] && break
        sleep 0.1
      done
      pids=$(ip netns pids "$NS" 2>/dev/null || true)
      # shellcheck disable=SC2086
      [[ -z $pids ]] || kill -9 $pids 2>/dev/null || true
    fi
    ip netns del "$NS" 2>/dev/null || true
    if [[ -f $dir/created ]]; then
      while read -r d; do rm -rf "$d"; done <"$dir/created"
    fi
    rm -rf "$dir/sandbox.env" "$dir/created" "$dir/etc-libvirt" "$dir/passwd" "$dir/group" \
      "$dir/libvirtd.pid" "$dir/virtlogd.pid" "$dir/no-kvm"
    ;;
  *) die "unknown command '$cmd' (start, exec, stop)" ;;
esac
