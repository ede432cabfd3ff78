#!/usr/bin/env bash
# Builds the tiny test guest: Debian's 6.1 kernel + a busybox initramfs (+ cloudtwin-agent).
#
#   scripts/build-tiny-guest.sh OUTDIR [--agent PATH]
#
# Produces OUTDIR/vmlinuz and OUTDIR/initrd.img (cpio newc, gzip). The only download is
# the kernel's Debian package (apt-get download), kept in OUTDIR/cache so re-runs are
# instant; the initramfs is rebuilt only when this script, the agent, its libraries,
# busybox or the kernel package change (OUTDIR/stamp holds their hash).
#
# Guest kernel command line understood by /init:
#   cloudtwin.agent=1  run /usr/sbin/cloudtwin-agent local + final and print its status
#                      JSON between === CLOUDTWIN-STATUS-BEGIN/END === (needs --agent);
#                      otherwise a busybox fallback reads ETH0_IP from the context CD,
#                      sets eth0's address from its MAC and prints === CLOUDTWIN-GUEST-READY ===
#   cloudtwin.keep=1   stay up (shell on the console) instead of powering off
#   cloudtwin.state=DEV  mount DEV (ext2/3/4) on /var/lib/cloudtwin-agent first, so the
#                      agent's once-per-instance state survives a reboot
# Environment: CLOUDTWIN_GUEST_KERNEL_PKG overrides the kernel package name.
set -euo pipefail

usage() {
  echo "usage: $0 OUTDIR [--agent PATH]" >&2
  exit 2
}

(($# >= 1)) || usage
OUTDIR=$1
shift
AGENT=""
while (($#)); do
  case $1 in
    --agent)
      (($# >= 2)) || usage
      AGENT=$2
      shift 2
      ;;
    *) usage ;;
  esac
done

die() {
  echo "build-tiny-guest: $*" >&2
  exit 1
}

start_ns=$(date +%s%N)
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static"
if [[ -n $AGENT ]]; then
  [[ -x $AGENT ]] || die "--agent $AGENT: not an executable file"
  AGENT=$(readlink -f "$AGENT")
fi

mkdir -p "$OUTDIR/cache"
OUTDIR=$(readlink -f "$OUTDIR")
# Tests discovered by ctest may run this concurrently for the same OUTDIR.
exec 9>"$OUTDIR/.lock"
flock 9

# --- kernel package: the exact linux-image-6.1.0-N-amd64 that linux-image-amd64 names ---
kernel_pkg=${CLOUDTWIN_GUEST_KERNEL_PKG:-}
pkg_file=$OUTDIR/cache/kernel-package
if [[ -z $kernel_pkg && -s $pkg_file && ! /var/lib/apt/lists -nt $pkg_file ]]; then
  # apt-cache takes ~1 s here; its answer only changes after an apt-get update.
  kernel_pkg=$(cat "$pkg_file")
fi
if [[ -z $kernel_pkg ]]; then
  kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
  [[ -n $kernel_pkg ]] && echo "$kernel_pkg" >"$pkg_file"
fi
if [[ -z $kernel_pkg ]]; then
  # Offline and without apt lists: reuse whatever was downloaded before.
  cached=$(find "$OUTDIR/cache" -maxdepth 1 -name 'linux-image-6.1.0-*-amd64_*.deb' | sort -V | tail -n1)
  [[ -n $cached ]] || die "cannot find the kernel package: 'apt-cache depends linux-image-amd64' names no linux-image-6.1.0-*-amd64 (run apt-get update) and OUTDIR/cache has none"
  kernel_pkg=$(basename "$cached" | cut -d_ -f1)
fi
kver=${kernel_pkg#linux-image-}

cached_deb() { find "$OUTDIR/cache" -maxdepth 1 -name "${kernel_pkg}_*.deb" | head -n1; }
deb=$(cached_deb)
if [[ -z $deb ]]; then
  echo "build-tiny-guest: downloading $kernel_pkg"
  # apt-get warns that _apt cannot write to OUTDIR; the download is fine.
  (cd "$OUTDIR/cache" && apt-get download -q "$kernel_pkg" 2>&1 |
    grep -v '^W: Download is performed unsandboxed' >&2) || true
  deb=$(cached_deb)
  [[ -n $deb ]] || die "apt-get download $kernel_pkg failed (network? apt-get update?)"
  # A new kernel ABI replaces the old one: drop the previous package and its extraction.
  find "$OUTDIR/cache" -mindepth 1 -maxdepth 1 \( -name 'linux-image-*.deb' -o -name '6.1.0-*' \) \
    ! -name "$(basename "$deb")" ! -name "$kver" -exec rm -rf {} +
fi

# --- modules, in the order /init loads them (see TESTBED.md) ---
NET_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
DISK_MODULES="virtio_blk scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs"
MODULES="$NET_MODULES $DISK_MODULES"
# Loaded only for cloudtwin.state=DEV (a persistent ext2/ext4 disk for the agent's state).
STATE_MODULES="crc16 mbcache jbd2 crc32c_generic ext4"

# --- stamp: everything the image is made of ---
agent_libs=()
if [[ -n $AGENT ]]; then
  # "libx.so => /path (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)"; skip linux-vdso.
  # A static agent has none ("not a dynamic executable") and needs none.
  mapfile -t agent_libs < <(ldd "$AGENT" 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
  if ldd "$AGENT" 2>&1 | grep -q 'not found'; then
    die "--agent $AGENT: ldd cannot resolve all its libraries: $(ldd "$AGENT" 2>&1 | grep 'not found' | tr -s '\n\t' '  ')"
  fi
fi
stamp=$({
  sha256sum "$SCRIPT" "$BUSYBOX"
  echo "kernel $(basename "$deb")"
  if [[ -n $AGENT ]]; then sha256sum "$AGENT" "${agent_libs[@]}"; fi
} | sed 's|  .*/| |' | sha256sum | cut -d' ' -f1)

if [[ -f $OUTDIR/stamp && $(cat "$OUTDIR/stamp") == "$stamp" && -f $OUTDIR/vmlinuz && -f $OUTDIR/initrd.img ]]; then
  printf 'build-tiny-guest: up to date (%s) in %d ms\n' "$OUTDIR" $((($(date +%s%N) - start_ns) / 1000000))
  exit 0
fi
rm -f "$OUTDIR/stamp"

# --- extract only the kernel and the ~20 files the initramfs needs (the cache stays ~10 MB) ---
kdir=$OUTDIR/cache/$kver
if [[ ! -f $kdir/.done-state ]]; then
  rm -rf "$kdir"
  mkdir -p "$kdir"
  members=("./boot/vmlinuz-$kver" "./lib/modules/$kver/modules.*")
  for m in $MODULES $STATE_MODULES; do members+=("./lib/modules/$kver/kernel/*/$m.ko*"); done
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards "${members[@]}"
  touch "$kdir/.done-state"
fi
modroot=$kdir/lib/modules/$kver

# --- initramfs tree ---
stage=$OUTDIR/stage
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,mnt/context,run,tmp,etc,lib/modules}
# A root account, as every real image has: the agent installs root's SSH keys through it.
mkdir -p -m 700 "$stage/root"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
cp "$BUSYBOX" "$stage/bin/busybox"
# Applets are created by /init (busybox --install -s) so the list follows busybox itself.
ln -s busybox "$stage/bin/sh"
# The kernel opens /dev/console before /init runs; without the node /init has no stdio.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$stage/dev/null" c 1 3 2>/dev/null || true

: >"$stage/lib/modules/order"
: >"$stage/lib/modules/order-state"
for m in $MODULES $STATE_MODULES; do
  ko=$(find "$modroot/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n1)
  if [[ -z $ko ]]; then
    grep -q "/$m\.ko" "$modroot/modules.builtin" 2>/dev/null && continue
    die "module $m is neither in $kernel_pkg nor built in"
  fi
  case $ko in
    *.xz) xz -dc "$ko" >"$stage/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$ko" >"$stage/lib/modules/$m.ko" ;;
    *) cp "$ko" "$stage/lib/modules/$m.ko" ;;
  esac
  case " $STATE_MODULES " in
    *" $m "*) echo "$m" >>"$stage/lib/modules/order-state" ;;
    *) echo "$m" >>"$stage/lib/modules/order" ;;
  esac
done

if [[ -n $AGENT ]]; then
  cp "$AGENT" "$stage/usr/sbin/cloudtwin-agent"
  for lib in "${agent_libs[@]}"; do
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
  # Debian's loader path is /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...;
  # ldd may report either, so make both exist.
  if [[ ! -e $stage/lib64/ld-linux-x86-64.so.2 && -e /lib64/ld-linux-x86-64.so.2 ]]; then
    mkdir -p "$stage/lib64"
    cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
  fi
fi

cat >"$stage/init" <<'INIT'
#!/bin/sh
# cloudtwin tiny guest /init (generated by scripts/build-tiny-guest.sh).
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
# Kernel messages would interleave with the status JSON on the console: keep them out.
/bin/busybox dmesg -n 1 2>/dev/null || true
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s
exec </dev/console >/dev/console 2>&1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "cloudtwin-init: $*"; }
cmdline=$(cat /proc/cmdline)
has_flag() { case " $cmdline " in *" $1 "*) return 0 ;; esac; return 1; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || say "insmod $m failed"
done

# cloudtwin.state=DEV: the agent's state (once-per-instance user-data) on a persistent disk,
# so it survives a reboot of this otherwise volatile guest. DEV holds ext2/3/4 (made on the
# host: mkfs.ext4 -L ctstate state.raw 16M).
state_dev=$(sed -n 's/.*cloudtwin\.state=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$state_dev" ]; then
  for m in $(cat /lib/modules/order-state); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
  i=0
  while [ ! -b "$state_dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  mkdir -p /var/lib/cloudtwin-agent
  if mount -t ext4 "$state_dev" /var/lib/cloudtwin-agent; then
    say "agent state on $state_dev"
  else
    say "cloudtwin.state=$state_dev: cannot mount it as ext4; agent state stays in RAM"
  fi
fi

finish() {
  if has_flag cloudtwin.keep=1; then
    say "cloudtwin.keep=1: staying up, shell on the console"
    while true; do setsid cttyhack sh; done
  fi
  sync
  [ -n "$state_dev" ] && umount /var/lib/cloudtwin-agent 2>/dev/null
  poweroff -f
}

find_cd() {
  i=0
  while [ $i -lt 50 ]; do
    dev=$(findfs LABEL=CONTEXT 2>/dev/null)
    [ -n "$dev" ] && { echo "$dev"; return 0; }
    for d in /dev/sr0 /dev/vda; do
      [ -b "$d" ] && { echo "$d"; return 0; }
    done
    i=$((i + 1))
    sleep 0.1
  done
  return 1
}

# Value of NAME from context.sh without executing it: NAME='v' or NAME="v" or NAME=v.
ctx_get() {
  sed -n "s/^$1=['\"]\{0,1\}\([^'\"]*\)['\"]\{0,1\}\$/\1/p" /mnt/context/context.sh | head -n1
}

fallback() {
  dev=$(find_cd) || { say "no context CD found (no LABEL=CONTEXT, /dev/sr0 or /dev/vda)"; echo "=== CLOUDTWIN-GUEST-NO-CONTEXT ==="; return 1; }
  say "context CD: $dev"
  mount -t iso9660 -o ro "$dev" /mnt/context || { say "cannot mount $dev as iso9660"; echo "=== CLOUDTWIN-GUEST-NO-CONTEXT ==="; return 1; }
  [ -f /mnt/context/context.sh ] || { say "$dev has no context.sh"; echo "=== CLOUDTWIN-GUEST-NO-CONTEXT ==="; return 1; }
  echo "=== CLOUDTWIN-ETH0-IP-BEGIN ==="
  ctx_get ETH0_IP
  echo "=== CLOUDTWIN-ETH0-IP-END ==="
  mac=$(cat /sys/class/net/eth0/address 2>/dev/null)
  case $mac in
    02:00:*) ;;
    *) say "eth0 MAC '$mac' does not start with 02:00"; return 1 ;;
  esac
  set -- $(echo "$mac" | tr ':' ' ')
  ip4=$(printf '%d.%d.%d.%d' "0x$3" "0x$4" "0x$5" "0x$6")
  mask=$(ctx_get ETH0_MASK)
  prefix=24
  [ -n "$mask" ] && prefix=$(ipcalc -p "$ip4" "$mask" | cut -d= -f2)
  ip link set lo up
  ip link set eth0 up
  ip addr add "$ip4/$prefix" dev eth0
  gw=$(ctx_get ETH0_GATEWAY)
  [ -n "$gw" ] && ip route add default via "$gw" dev eth0
  say "eth0 $mac -> $ip4/$prefix"
  echo "CLOUDTWIN-BOOT-SECONDS=$(uptime_s)"
  echo "=== CLOUDTWIN-GUEST-READY ==="
}

if has_flag cloudtwin.agent=1 && [ -x /usr/sbin/cloudtwin-agent ]; then
  cloudtwin-agent local || say "cloudtwin-agent local exited $?"
  cloudtwin-agent final || say "cloudtwin-agent final exited $?"
  echo "=== CLOUDTWIN-STATUS-BEGIN ==="
  cloudtwin-agent status
  echo
  echo "=== CLOUDTWIN-STATUS-END ==="
  echo "CLOUDTWIN-BOOT-SECONDS=$(uptime_s)"
else
  has_flag cloudtwin.agent=1 && say "cloudtwin.agent=1 but /usr/sbin/cloudtwin-agent is missing: using the busybox fallback"
  fallback
fi
finish
INIT
chmod 755 "$stage/init"

# --- pack: owners root, files sorted so the archive is reproducible ---
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -6n >"$OUTDIR/initrd.img.tmp"
mv "$OUTDIR/initrd.img.tmp" "$OUTDIR/initrd.img"
cp "$kdir/boot/vmlinuz-$kver" "$OUTDIR/vmlinuz"
rm -rf "$stage"
echo "$stamp" >"$OUTDIR/stamp"

printf 'build-tiny-guest: built %s (kernel %s, initrd %s KiB%s) in %d ms\n' "$OUTDIR" "$kver" \
  $(($(stat -c %s "$OUTDIR/initrd.img") / 1024)) "${AGENT:+, agent $AGENT}" \
  $((($(date +%s%N) - start_ns) / 1000000))
