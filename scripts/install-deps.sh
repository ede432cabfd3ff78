#!/usr/bin/env bash
# Installs every Debian 12 package that cloudtwin's build, tests, benchmarks and demo need.
# Non-interactive, idempotent: re-running only checks that everything is present.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14
  libboost-dev libboost-system-dev
  libpoco-dev
  libssl-dev
  nlohmann-json3-dev
  libvirt-dev
  libnl-3-dev libnl-route-3-dev
  libisofs-dev
  libblkid-dev
  libsystemd-dev
  libyaml-cpp-dev
  libsqlite3-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  rpm file
  lintian rpmlint
)

RUNTIME_TEST_PKGS=(
  bash coreutils iproute2 busybox-static
  qemu-system-x86 qemu-utils debootstrap e2fsprogs
  genisoimage xorriso
  openvpn openssl
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon-config-nwfilter
  iptables dnsmasq-base
  cloud-init amazon-ec2-utils
  awscli python3-botocore
  nginx-light wrk iperf3 curl
  nodejs npm
)

# npm packages the tests need (s3rver: the S3 server of the image import tests). Checked and
# installed on every run, also when every Debian package is already there.
NPM_PKGS=(s3rver@3.7.1)

install_npm_packages() {
  local p name version
  for p in "${NPM_PKGS[@]}"; do
    name=${p%@*}
    version=${p##*@}
    if [[ $(npm ls -g --depth=0 "$name" 2>/dev/null) == *"$name@$version"* ]]; then continue; fi
    echo "install-deps: npm install -g $p"
    $SUDO npm install -g --no-fund --no-audit "$p" >/dev/null
  done
}

ALL=("${BUILD_PKGS[@]}" "${RUNTIME_TEST_PKGS[@]}")

missing=()
for p in "${ALL[@]}"; do
  # A nodejs that bundles npm (NodeSource's) conflicts with Debian's npm package.
  if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ((${#missing[@]} == 0)); then
  install_npm_packages
  echo "install-deps: all ${#ALL[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services pulled in by packages (nginx, libvirtd, openvpn) must not be started by
# dpkg on a machine without systemd; tests start what they need by hand.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  created_policy=1
fi
trap '[[ $created_policy == 1 ]] && $SUDO rm -f "$policy"' EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
install_npm_packages
echo "install-deps: done"
