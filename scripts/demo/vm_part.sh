# Sourced by scripts/demo.sh after the loopback part: one tiny VM on a real libvirtd, inside
# a sandbox. Uses say/run, BIN, WORK, SANDBOX, URL, PID, KEEP and sets CONSOLE_PID.
# shellcheck shell=bash

NET=demo
VM=demo-vm
CIDR=10.77.0.0/24
in_sandbox() { tests/e2e/sandbox.sh exec "$SANDBOX" "$@"; }
ct() { in_sandbox "$BIN/host/cloudtwin" --config "$WORK/host.conf" "$@"; }
host_state() {  # what the demo must leave as it found it
  ip netns list 2>/dev/null | sort
  ls -d /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt 2>/dev/null || true
}
HOST_BEFORE=$(host_state)
vm_start=$(date +%s%N)

say "the tiny guest: Debian's kernel + busybox initramfs + cloudtwin-agent and its libraries"
scripts/build-tiny-guest.sh "$BIN/guest-agent" --agent "$BIN/agent/cloudtwin-agent"
mkdir -p "$WORK/guest" "$WORK/instances" "$WORK/images"
cp "$BIN/guest-agent/vmlinuz" "$BIN/guest-agent/initrd.img" "$WORK/guest/"

say "sandbox: a network namespace + mount namespace with its own libvirtd (tests/e2e/sandbox.sh)"
NS=$(CT_LIBVIRT_CACHE=$PWD/$BIN/e2e-libvirt-cache tests/e2e/sandbox.sh start "$SANDBOX")
echo "libvirtd runs in network namespace $NS; bridges, taps and NAT rules stay there"
cat >"$WORK/host.conf" <<CONF
[libvirt]
uri = qemu:///system
domain_type = qemu
[storage]
instances = $WORK/instances
images = $WORK/images
[network]
nwfilter = none
CONF

say "a network: bridge with the gateway and 169.254.169.254, DHCP reservations, NAT"
run ct net create "$NET" --cidr "$CIDR"
ct net show "$NET"

say "cloudtwin-metadata on 169.254.169.254:80 inside the sandbox, records from libvirt"
in_sandbox "$BIN/metadata-server/cloudtwin-metadata" --listen 169.254.169.254:80 \
  --libvirt qemu:///system --identity-key "$WORK/identity.key" \
  --identity-cert "$WORK/identity.crt" --access-log >"$WORK/metadata-vm.log" 2>&1 &
METADATA_VM_PID=$!
for _ in $(seq 50); do grep -qs "listening on" "$WORK/metadata-vm.log" && break; sleep 0.1; done
sed -n '1,3p' "$WORK/metadata-vm.log"

say "one tiny VM: direct kernel boot, domain type qemu (TCG), context CD, SSH key, user-data"
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -q -t ed25519 -N '' -C demo@cloudtwin -f "$WORK/id_demo"
else
  echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDemoKeyNotARealKey000000000000000000000000 demo@cloudtwin" >"$WORK/id_demo.pub"
fi
cat >"$WORK/$VM.tmpl" <<TMPL
NAME = "$VM"
MEMORY = 256
OS = [ KERNEL = "$WORK/guest/vmlinuz", INITRD = "$WORK/guest/initrd.img",
       KERNEL_CMD = "console=ttyS0 panic=-1 cloudtwin.agent=1 cloudtwin.keep=1" ]
NIC = [ NETWORK = "$NET" ]
CONTEXT = [ USER_DATA = "#!/bin/sh
echo hello from cloudtwin user-data > /run/marker" ]
TMPL
sed 's/^/    /' "$WORK/$VM.tmpl"
created_ns=$(date +%s%N)
run ct vm create "$WORK/$VM.tmpl" --ssh-key "$WORK/id_demo.pub"
PTY=$(in_sandbox virsh -c qemu:///system ttyconsole "$VM")
cat "$PTY" >"$WORK/console.log" 2>/dev/null &
CONSOLE_PID=$!
echo "instance record: in the domain's <metadata>, where cloudtwin-metadata reads it (docs/instance-record.md)"

say "booting (serial console -> $WORK/console.log)"
last=""
while ! grep -q '^CLOUDTWIN-BOOT-SECONDS=' "$WORK/console.log"; do
  elapsed=$((($(date +%s%N) - created_ns) / 1000000))
  ((elapsed < 150000)) || { tail -20 "$WORK/console.log"; echo "the guest did not finish in 150 s"; exit 1; }
  line=$(tr -d '\r' <"$WORK/console.log" | grep -E '^(cloudtwin|\[ *[0-9.]+\] (Run /init|Freeing unused|virtio|ata|scsi|sr 0))' |
    tail -1 | cut -c1-90 || true)
  if [[ $line != "$last" ]]; then printf '  %5.1f s  %s\n' "$(awk -v ms="$elapsed" 'BEGIN{print ms/1000}')" "$line"; last=$line; fi
  sleep 0.2
done
wall=$(awk -v ns="$(($(date +%s%N) - created_ns))" 'BEGIN{printf "%.2f", ns/1e9}')
tr -d '\r' <"$WORK/console.log" | sed -n '/=== CLOUDTWIN-STATUS-BEGIN ===/,/=== CLOUDTWIN-STATUS-END ===/p' |
  sed '1d;$d' >"$WORK/status.json"
uptime=$(tr -d '\r' <"$WORK/console.log" | sed -n 's/^CLOUDTWIN-BOOT-SECONDS=//p')
echo "  contextualized: ${wall} s after 'vm create' returned (guest uptime ${uptime} s)"

say "what the agent reports (status JSON from the serial console)"
/usr/bin/python3 scripts/demo/show_status.py "$WORK/status.json" "$uptime"

say "what the guest says about itself (typed on its console)"
for _ in $(seq 50); do grep -q 'staying up' "$WORK/console.log" && break; sleep 0.1; done
printf '%s\n' 'echo "@@""HOST=$(hostname)"; echo "@@""ETH0=$(cat /sys/class/net/eth0/address) $(ip -4 -o addr show dev eth0 | awk "{print \$4}")"; echo "@@""KEY=$(cut -c1-50 /root/.ssh/authorized_keys)"; echo "@@""USERDATA=$(cat /run/marker 2>/dev/null || echo "(not run: the agent does not run user-data yet)")"; echo "@@""IMDS=$(timeout 5 wget -qO- http://169.254.169.254/latest/meta-data/instance-id)"; mkdir -p /tmp/www; hostname >/tmp/www/index.html; httpd -p 8080 -h /tmp/www; echo "@@""DONE"' >"$PTY"
for _ in $(seq 100); do grep -q '^@@DONE' <(tr -d '\r' <"$WORK/console.log") && break; sleep 0.1; done
tr -d '\r' <"$WORK/console.log" | sed -n 's/^@@\(HOST\|ETH0\|KEY\|USERDATA\|IMDS\)=/  \1: /p'
IP=$(ct vm show "$VM" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["record"]["network-interfaces"][0]["local-ipv4s"][0])')
echo "  MAC rule: 02:00 + the bytes of $IP = $(printf '02:00:%02x:%02x:%02x:%02x' ${IP//./ })"

say "reaching it from the host side (inside the sandbox's namespace)"
echo "$ busybox ping -c1 $IP"; in_sandbox busybox ping -c1 -W2 "$IP" | sed -n 2p
printf '$ wget http://%s:8080/ -> ' "$IP"
in_sandbox timeout 5 busybox wget -q -O - "http://$IP:8080/index.html"

if [[ $KEEP == 1 ]]; then
  say "left running (--keep)"
  cat <<MSG
  Loopback metadata service (part 1):
    TOKEN=\$(curl -s -X PUT $URL/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
    curl -H "X-aws-ec2-metadata-token: \$TOKEN" $URL/latest/meta-data/
  The VM $VM ($IP) in sandbox $NS:
    console (busybox shell; Ctrl-] leaves):
      tests/e2e/sandbox.sh exec $SANDBOX virsh -c qemu:///system console $VM
    a shell on the host side of its network:   ip netns exec $NS bash
      then: busybox ping $IP; busybox wget -qO- http://$IP:8080/
    cloudtwin itself:
      tests/e2e/sandbox.sh exec $SANDBOX $BIN/host/cloudtwin --config $WORK/host.conf vm list
    (the tiny guest has no sshd; its authorized_keys holds $WORK/id_demo.pub)
  Tear it all down:
    kill $PID $CONSOLE_PID; tests/e2e/sandbox.sh stop $SANDBOX; rm -rf $WORK
MSG
  exit 0
fi

say "tearing down: vm delete, net delete, sandbox stop"
run ct vm delete "$VM"
run ct net delete "$NET"
kill "$METADATA_VM_PID" 2>/dev/null || true
cleanup
trap - EXIT
if [[ $(host_state) == "$HOST_BEFORE" ]]; then
  echo "host as before: namespaces and libvirt state dirs unchanged"
else
  echo "the host differs from before:"; diff <(echo "$HOST_BEFORE") <(host_state) || true
fi
say "done in $((($(date +%s%N) - vm_start) / 1000000000)) s for the VM part: services stopped, sandbox deleted, $WORK removed"
