#!/bin/sh
# Manual smoke test of `cloudtwin net|vm` against a real libvirtd (network + qemu drivers,
# TCG), isolated from the machine: own network namespace, own mount namespace with
# tmpfs state dirs, a private copy of /etc/libvirt, and a libvirt-qemu user added only to
# bind-mounted copies of /etc/passwd and /etc/group. Needs root. Not run by ctest.
#
#   host/tests/smoke/libvirtd_smoke.sh build/dev/host/cloudtwin
#
# Checks: the network XML is accepted by the bridge driver (bridge has the gateway and
# 169.254.169.254/32), DHCP serves reserved hosts only (dhcp-range=GW,static, no dynamic
# range), reservations reach dnsmasq's hostsfile, a VM is defined and started with its
# record in <metadata> and a console log written through virtlogd, stop/start work, and
# delete leaves no domain, file or reservation.
set -eu
if [ "${CT_SMOKE_INNER:-}" != 1 ]; then
  C=$(readlink -f "$1")
  NS=ct-smoke-$$
  W=$(mktemp -d)
  chmod 711 "$W"  # qemu runs as libvirt-qemu and must reach the instance files
  created=""
  for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
    [ -d "$d" ] || { mkdir -p "$d"; created="$created $d"; }
  done
  ip netns add "$NS"
  rc=0
  CT_SMOKE_INNER=1 C="$C" W="$W" ip netns exec "$NS" unshare -m --propagation private "$0" || rc=$?
  ip netns del "$NS"
  for d in $created; do rm -rf "$d"; done
  rm -rf "$W"
  [ "$rc" = 0 ] && echo "smoke: OK" || echo "smoke: FAILED ($rc)"
  exit "$rc"
fi

for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do mount -t tmpfs none "$d"; done
cp -a /etc/libvirt "$W/etc"
rm -f "$W"/etc/qemu/networks/autostart/*.xml
mount --bind "$W/etc" /etc/libvirt
cp /etc/passwd "$W/passwd"; cp /etc/group "$W/group"
grep -q '^libvirt-qemu:' "$W/passwd" || {
  echo "libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin" >> "$W/passwd"
  echo "libvirt-qemu:x:64055:" >> "$W/group"
  sed -i 's/^kvm:x:\([0-9]*\):$/kvm:x:\1:libvirt-qemu/' "$W/group"  # else every start re-probes QEMU
}
mount --bind "$W/passwd" /etc/passwd; mount --bind "$W/group" /etc/group
ip link set lo up
virtlogd -d -p "$W/virtlogd.pid"
libvirtd -d -p "$W/libvirtd.pid"
trap 'kill $(cat "$W/libvirtd.pid") $(cat "$W/virtlogd.pid") 2>/dev/null || true' EXIT
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.5
done
mkdir -p "$W/inst"
printf '[libvirt]\nuri = qemu:///system\n[storage]\ninstances = %s\n[network]\nnwfilter = none\n' "$W/inst" > "$W/host.conf"
printf 'MEMORY = 128\nNIC = [ NETWORK = smoke ]\nCONTEXT = [ MY_IP = "$NIC[IP]", NOCLOUD = YES ]\nEC2 = [ AMI = ami-1 ]\nCONSOLE_LOG = YES\n' > "$W/vm.tmpl"
ct() { "$C" --config "$W/host.conf" "$@"; }

ct net create smoke --cidr 10.55.0.0/24
ip -4 addr show dev ct-smoke | grep -q 'inet 169.254.169.254/32'
ct vm create "$W/vm.tmpl" --name t1
ct vm list | grep -q '^t1 *running'
grep -q '02:00:0a:37:00:02,10.55.0.2,t1' /var/lib/libvirt/dnsmasq/smoke.hostsfile
grep -q '^dhcp-range=10.55.0.1,static$' /var/lib/libvirt/dnsmasq/smoke.conf
[ "$(grep -c '^dhcp-range=' /var/lib/libvirt/dnsmasq/smoke.conf)" = 1 ]
[ -f "$W/inst/t1/console.log" ]
ct vm stop t1 --force | grep -q 'stopped'
ct vm start t1 | grep -q 'started'
ct vm reboot t1 --json | grep -q '"state":"running"' 
virsh -c qemu:///system dumpxml t1 | grep -q 'cloudtwin:instance'
ct vm delete t1
[ -z "$(virsh -c qemu:///system list --all --name)" ]
[ "$(ls -A "$W/inst")" = ".lock" ]
! grep -q t1 /var/lib/libvirt/dnsmasq/smoke.hostsfile
ct net delete smoke
