#!/usr/bin/env bash
# Builds a full Debian 12 test guest with systemd as PID 1.
#
#   scripts/build-full-guest.sh [--no-cloud-init] [--deb FILE]... [--pkg NAME]... [--add DIR]...
#                               OUTDIR
#
# Default: an unmodified-looking Debian 12 cloud image with cloud-init and no cloudtwin at all
# (issue 7, item 1b), a stand-in for an EC2 image. With --no-cloud-init and --deb (issue 13):
# the same system without cloud-init and with the given .debs installed by
# `apt-get install ./FILE.deb` in the chroot (dpkg's real maintainer scripts; their
# dependencies come from the mirror); --pkg installs a Debian package by name as well.
# --add DIR copies DIR's tree over the root (test tools, a serial autologin), in order, and
# enables the units listed in DIR/.enable, one per line.
#
# Produces in OUTDIR (hard links into the cache when it is on the same file system):
#   disk.qcow2   ext4 root file system on the whole disk (no partition table), label cloudroot
#   vmlinuz      Debian's 6.1 kernel (the same package as the tiny guest's)
#   initrd.img   a busybox initramfs: loads virtio, ext4 and the IDE CD-ROM modules (a
#                context CD on bus ide), mounts root= (default /dev/vda) and switch_roots to
#                /sbin/init (systemd). Debian's own initramfs (initramfs-tools hooks of
#                linux-image-amd64) is slow to build; this is 2 s.
#   recipe       the recipe hash the files were built from
# Kernel command line: console=ttyS0 root=/dev/vda [rw]. The rootfs has no kernel modules: the
# initramfs loads what the guest needs before switch_root.
#
# Two cache levels under ${CLOUDTWIN_TEST_CACHE:-/var/cache/cloudtwin-tests}/full-guest/, outside
# any build tree so every test of a run (and CI reruns, other checkouts) reuses them:
#   base-<hash>/  kernel, initramfs and the root tree: debootstrap --variant=minbase bookworm,
#                 then systemd-sysv udev openssh-server ifupdown isc-dhcp-client iproute2
#                 netbase (no recommends). The slow part (~400 s cold, mostly the mirror).
#   img-<hash>/   one image: a copy of the base tree, plus cloud-init or the .debs and --add,
#                 SSH host keys and machine-id removed so every instance gets its own, then
#                 mkfs.ext4 -d ROOTDIR (no loop mount) and qemu-img convert (~30-60 s).
# The base hash covers the suite, mirror, kernel package, busybox and the base recipe below;
# the image hash adds this script, the options and the content of every .deb and added file.
# The last 4 images are kept. .debs are kept in .../debs. Environment: CLOUDTWIN_DEBIAN_MIRROR
# (default http://deb.debian.org/debian), CLOUDTWIN_GUEST_KERNEL_PKG (default: what
# linux-image-amd64 depends on).
# Needs root (debootstrap, chroot), debootstrap, e2fsprogs >= 1.43 (mkfs -d), qemu-utils,
# busybox-static.
set -euo pipefail

usage() {
  echo "usage: $0 [--no-cloud-init] [--deb FILE]... [--pkg NAME]... [--add DIR]... OUTDIR" >&2
  exit 2
}
cloud_init=1
debs=()
pkgs=()
add_dirs=()
OUTDIR=
while (($#)); do
  case $1 in
    --no-cloud-init) cloud_init=0 ;;
    --deb) (($# >= 2)) || usage; debs+=("$(readlink -f "$2")"); shift ;;
    --pkg) (($# >= 2)) || usage; pkgs+=("$2"); shift ;;
    --add) (($# >= 2)) || usage; add_dirs+=("$(readlink -f "$2")"); shift ;;
    -*) usage ;;
    *) [[ -z $OUTDIR ]] || usage; OUTDIR=$1 ;;
  esac
  shift
done
[[ -n $OUTDIR ]] || usage
for d in "${debs[@]}"; do [[ -f $d ]] || { echo "build-full-guest: no such .deb: $d" >&2; exit 1; }; done
for d in "${add_dirs[@]}"; do [[ -d $d ]] || { echo "build-full-guest: no such folder: $d" >&2; exit 1; }; done

die() {
  echo "build-full-guest: $*" >&2
  exit 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
start_ms=$(now_ms)
phase_ms=$start_ms
phase() {  # prints how long the previous phase took
  local t
  t=$(now_ms)
  printf 'build-full-guest: %-28s %7.1f s\n' "$1" "$(awk -v d=$((t - phase_ms)) 'BEGIN{print d/1000}')"
  phase_ms=$t
}

[[ $(id -u) == 0 ]] || die "needs root (debootstrap and chroot)"
for p in debootstrap mkfs.ext4 qemu-img dpkg-deb apt-get flock; do
  command -v "$p" >/dev/null || die "$p is not installed (apt-get install debootstrap e2fsprogs qemu-utils)"
done
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static"

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
SUITE=bookworm
MIRROR=${CLOUDTWIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_PACKAGES="systemd-sysv udev openssh-server ifupdown isc-dhcp-client iproute2 netbase"
# Loaded by the initramfs in dependency order; the CD modules read a context CD on bus ide.
INITRD_MODULES="virtio_pci virtio_net virtio_blk ext4 crc32c_generic ata_piix sr_mod isofs"
# Bump when the base recipe (the part of this script above "--- image ---") changes.
BASE_REV=2
CACHE_ROOT=${CLOUDTWIN_TEST_CACHE:-/var/cache/cloudtwin-tests}/full-guest
mkdir -p "$CACHE_ROOT/debs" "$CACHE_ROOT/kernel" "$OUTDIR"
OUTDIR=$(readlink -f "$OUTDIR")
exec 9>"$CACHE_ROOT/.lock"  # one build at a time; the second waits and then reuses it
flock 9

# --- kernel package (as scripts/build-tiny-guest.sh picks it) ---
kernel_pkg=${CLOUDTWIN_GUEST_KERNEL_PKG:-}
if [[ -z $kernel_pkg ]]; then
  kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
fi
if [[ -z $kernel_pkg ]]; then
  cached=$(find "$CACHE_ROOT/kernel" -maxdepth 1 -name 'linux-image-6.1.0-*-amd64_*.deb' | sort -V | tail -n1)
  [[ -n $cached ]] || die "no kernel package: 'apt-cache depends linux-image-amd64' names none (apt-get update?)"
  kernel_pkg=$(basename "$cached" | cut -d_ -f1)
fi
kver=${kernel_pkg#linux-image-}

base_recipe=$({
  echo "$BASE_REV $SUITE $MIRROR $kernel_pkg $BASE_PACKAGES $INITRD_MODULES"
  sha256sum "$BUSYBOX" | cut -d' ' -f1
} | sha256sum | cut -c1-16)
recipe=$({
  echo "$base_recipe $cloud_init ${pkgs[*]}"
  sha256sum "$SCRIPT" | cut -d' ' -f1
  for d in "${debs[@]}"; do sha256sum "$d" | cut -d' ' -f1; done
  for a in "${add_dirs[@]}"; do
    (cd "$a" && find . -type f | LC_ALL=C sort | while read -r f; do
      echo "$f $(stat -c %a "$f") $(sha256sum <"$f" | cut -d' ' -f1)"
    done)
  done
} | sha256sum | cut -c1-16)
BASE=$CACHE_ROOT/base-$base_recipe
CACHE=$CACHE_ROOT/img-$recipe

publish() {  # cache -> OUTDIR
  for f in disk.qcow2 vmlinuz initrd.img; do
    rm -f "$OUTDIR/$f"
    ln -f "$CACHE/$f" "$OUTDIR/$f" 2>/dev/null || cp --reflink=auto "$CACHE/$f" "$OUTDIR/$f"
  done
  echo "$recipe" >"$OUTDIR/recipe"
}

if [[ -f $CACHE/done ]]; then
  touch "$CACHE"
  publish
  printf 'build-full-guest: cached %s (recipe %s) in %d ms\n' "$CACHE" "$recipe" $(($(now_ms) - start_ms))
  exit 0
fi
ROOT=$BASE/root
cleanup() {
  # Never leave a mount inside the cache (debootstrap mounts proc/sys in the target).
  for r in "$BASE/root" "$CACHE/root"; do
    for m in "$r/var/cache/apt/archives" "$r/proc" "$r/sys" "$r/dev/pts" "$r/dev"; do
      mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
  done
  return 0
}
trap cleanup EXIT
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"; }
chroot_up() {  # proc, sys and the shared .deb cache over the chroot's apt cache
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs sysfs "$ROOT/sys"
  mkdir -p "$ROOT/var/cache/apt/archives"
  mount --bind "$CACHE_ROOT/debs" "$ROOT/var/cache/apt/archives"
}
chroot_down() {
  umount "$ROOT/var/cache/apt/archives"
  umount "$ROOT/sys" "$ROOT/proc"
}

if [[ ! -f $BASE/done ]]; then
# Older bases and the images made from them: drop them (each is ~0.5 GB).
find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name debs ! -name kernel \
  ! -name "base-$base_recipe" -exec rm -rf {} +
rm -rf "$BASE"
mkdir -p "$BASE"
# --- kernel ---
deb=$(find "$CACHE_ROOT/kernel" -maxdepth 1 -name "${kernel_pkg}_*.deb" | head -n1)
if [[ -z $deb ]]; then
  (cd "$CACHE_ROOT/kernel" && apt-get download -q "$kernel_pkg" 2>&1 |
    grep -v '^W: Download is performed unsandboxed' >&2) || true
  deb=$(find "$CACHE_ROOT/kernel" -maxdepth 1 -name "${kernel_pkg}_*.deb" | head -n1)
  [[ -n $deb ]] || die "apt-get download $kernel_pkg failed"
fi
kdir=$BASE/kernel
mkdir -p "$kdir"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards "./boot/vmlinuz-$kver" \
  "./lib/modules/$kver/kernel/drivers/virtio/*" "./lib/modules/$kver/kernel/drivers/net/*" \
  "./lib/modules/$kver/kernel/net/core/*" "./lib/modules/$kver/kernel/drivers/block/*" \
  "./lib/modules/$kver/kernel/fs/*" "./lib/modules/$kver/kernel/lib/*" \
  "./lib/modules/$kver/kernel/crypto/*" "./lib/modules/$kver/kernel/arch/x86/crypto/*" \
  "./lib/modules/$kver/kernel/drivers/ata/*" "./lib/modules/$kver/kernel/drivers/scsi/*" \
  "./lib/modules/$kver/kernel/drivers/cdrom/*" \
  "./lib/modules/$kver/modules.builtin"
phase "kernel ($kver)"

# --- initramfs: modules in dependency order (modinfo depends), then busybox /init ---
modroot=$kdir/lib/modules/$kver
WANT=$INITRD_MODULES
declare -A done_mod=()
order=()
ko_of() { find "$modroot/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n1; }
add_mod() {
  local m=${1//-/_} ko deps d
  [[ -n ${done_mod[$m]:-} ]] && return 0
  done_mod[$m]=1
  ko=$(ko_of "$m")
  if [[ -z $ko ]]; then ko=$(ko_of "${1//_/-}"); fi
  if [[ -z $ko ]]; then
    grep -qE "/(${m}|${m//_/-})\.ko" "$modroot/modules.builtin" && return 0
    die "module $m is neither in $kernel_pkg nor built in"
  fi
  # The .modinfo section holds "depends=a,b" (no modinfo/modules.dep needed on this host).
  case $ko in
    *.xz) deps=$(xz -dc "$ko" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1) ;;
    *.zst) deps=$(zstd -qdc "$ko" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1) ;;
    *) deps=$(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | head -n1) ;;
  esac
  for d in ${deps//,/ }; do add_mod "$d"; done
  order+=("$ko")
}
for m in $WANT; do add_mod "$m"; done
stage=$BASE/initrd-stage
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$BUSYBOX" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
mknod -m 600 "$stage/dev/console" c 5 1
: >"$stage/lib/modules/order"
for ko in "${order[@]}"; do
  m=$(basename "$ko")
  m=${m%%.ko*}
  case $ko in
    *.xz) xz -dc "$ko" >"$stage/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$ko" >"$stage/lib/modules/$m.ko" ;;
    *) cp "$ko" "$stage/lib/modules/$m.ko" ;;
  esac
  echo "$m" >>"$stage/lib/modules/order"
done
cat >"$stage/init" <<'INIT'
#!/bin/sh
# cloudtwin full guest /init (scripts/build-full-guest.sh): modules, mount root=, switch_root.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" 2>/dev/null || echo "init: insmod $m failed"; done
root=/dev/vda
opts=ro
for a in $(cat /proc/cmdline); do
  case $a in root=*) root=${a#root=} ;; rw) opts=rw ;; esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o "$opts" "$root" /newroot; then
  echo "init: cannot mount $root; a shell on the console"
  exec sh
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | $BUSYBOX cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -6n >"$BASE/initrd.img"
cp "$kdir/boot/vmlinuz-$kver" "$BASE/vmlinuz"
rm -rf "$stage" "$kdir"
phase "initramfs (${#order[@]} modules)"

# --- root file system ---
debootstrap --variant=minbase --cache-dir="$CACHE_ROOT/debs" "$SUITE" "$ROOT" "$MIRROR" \
  >"$BASE/debootstrap.log" 2>&1 || { tail -30 "$BASE/debootstrap.log" >&2; die "debootstrap failed (log: $BASE/debootstrap.log)"; }
phase "debootstrap minbase"

# Packages inside the chroot without starting any service on this host.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
chroot_up
{
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  in_root apt-get update -q
  # shellcheck disable=SC2086
  in_root apt-get install -y -q --no-install-recommends $BASE_PACKAGES
} >"$BASE/apt.log" 2>&1 || { tail -30 "$BASE/apt.log" >&2; die "apt-get install in the chroot failed (log: $BASE/apt.log)"; }
chroot_down
phase "systemd + ssh + ifupdown"
touch "$BASE/done"
fi

# --- image ---
# Older images beyond the last 4: drop them.
find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -type d -name 'img-*' -printf '%T@ %p\n' | sort -rn |
  tail -n +4 | cut -d' ' -f2- | xargs -r rm -rf
rm -rf "$CACHE"
mkdir -p "$CACHE"
cp -a --reflink=auto "$BASE/root" "$CACHE/root"
for f in vmlinuz initrd.img; do cp "$BASE/$f" "$CACHE/$f"; done
ROOT=$CACHE/root
phase "copy of the base tree"
extra=("${pkgs[@]}")
((cloud_init)) && extra+=(cloud-init)
if ((${#extra[@]} + ${#debs[@]})); then
  chroot_up
  mkdir -p "$ROOT/tmp/debs"
  local_debs=()
  for d in "${debs[@]}"; do
    cp "$d" "$ROOT/tmp/debs/"
    local_debs+=("/tmp/debs/$(basename "$d")")
  done
  {
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    # apt's lists are kept in the base; refreshed only when they are too old to fetch with.
    in_root apt-get install -y -q --no-install-recommends "${extra[@]}" "${local_debs[@]}" ||
      { in_root apt-get update -q && in_root apt-get install -y -q --no-install-recommends "${extra[@]}" "${local_debs[@]}"; }
  } >"$CACHE/apt.log" 2>&1 || { tail -30 "$CACHE/apt.log" >&2; die "apt-get install in the chroot failed (log: $CACHE/apt.log)"; }
  grep -E '^(Setting up|Created symlink)' "$CACHE/apt.log" | grep -E 'cloudtwin|cloud-init' || true
  rm -rf "$ROOT/tmp/debs"
  chroot_down
  phase "install ${extra[*]} + ${#debs[@]} .deb(s)"
fi
if ((!cloud_init)); then
  # The host keys are removed below (each instance gets its own); cloud-init makes them in
  # the cloud image, here sshd's unit does (before its own config check, which needs them).
  mkdir -p "$ROOT/etc/systemd/system/ssh.service.d"
  printf '%s\n' '# scripts/build-full-guest.sh --no-cloud-init: host keys at first boot.' \
    '[Service]' 'ExecStartPre=' 'ExecStartPre=/usr/bin/ssh-keygen -A' \
    'ExecStartPre=/usr/sbin/sshd -t' >"$ROOT/etc/systemd/system/ssh.service.d/host-keys.conf"
fi
for a in "${add_dirs[@]}"; do
  cp -a --no-preserve=ownership "$a/." "$ROOT/"
  if [[ -f $ROOT/.enable ]]; then
    while read -r unit; do
      [[ -n $unit ]] && in_root systemctl enable "$unit" >/dev/null 2>&1
    done <"$ROOT/.enable"
    rm -f "$ROOT/.enable"
  fi
done

# --- what a cloud image does at build time ---
rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT"/etc/ssh/ssh_host_*
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
echo localhost >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
rm -f "$ROOT/etc/resolv.conf"
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' >"$ROOT/etc/network/interfaces"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$ROOT/etc/fstab"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/log/*.log \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
find "$ROOT/var/cache/apt/archives" -name '*.deb' -delete

# --- disk: ext4 made from the tree (no loop mount), then qcow2 ---
used_mb=$(du -sm "$ROOT" | cut -f1)
size_mb=$((used_mb * 2 + 512))
mkfs.ext4 -q -F -L cloudroot -d "$ROOT" "$CACHE/disk.raw" "${size_mb}M" >/dev/null
qemu-img convert -f raw -O qcow2 "$CACHE/disk.raw" "$CACHE/disk.qcow2"
rm -rf "$CACHE/disk.raw" "$ROOT"
phase "ext4 ${size_mb} MB -> qcow2"

touch "$CACHE/done"
publish
printf 'build-full-guest: built %s (recipe %s, kernel %s, rootfs %d MB, qcow2 %d MB) in %.1f s\n' \
  "$CACHE" "$recipe" "$kver" "$used_mb" $(($(stat -c %s "$CACHE/disk.qcow2") / 1048576)) \
  "$(awk -v d=$(($(now_ms) - start_ms)) 'BEGIN{print d/1000}')"
