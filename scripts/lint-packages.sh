#!/usr/bin/env bash
# Checks the built packages as a distribution would: lintian on the .debs, rpmlint on the
# .rpms. Any tag that is not overridden fails (the overrides, each with its reason:
# packaging/lintian/<package> and packaging/rpmlint.toml; see packaging/README.md).
#
#   scripts/lint-packages.sh [PACKAGES_DIR]     default build/ci/packages
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build/ci/packages}
for p in lintian rpmlint; do
  command -v "$p" >/dev/null || { echo "lint-packages: $p is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
shopt -s nullglob
debs=("$DIR"/*.deb)
rpms=("$DIR"/*.rpm)
((${#debs[@]} && ${#rpms[@]})) || { echo "lint-packages: no .deb or no .rpm in $DIR (cpack -G DEB; cpack -G RPM)" >&2; exit 1; }
failed=0

# lintian: every level down to pedantic; overridden tags are not printed.
lintian_out=$(lintian --info --pedantic --no-tag-display-limit "${debs[@]}" 2>&1 |
  grep -v -e '^N:' -e 'running with root privileges is not recommended' || true)
if grep -qE '^[EWIPX]: ' <<<"$lintian_out"; then
  echo "lintian: tags on ${debs[*]}:"
  echo "$lintian_out"
  failed=1
else
  echo "lintian: ${#debs[@]} packages clean"
fi

rpmlint_out=$(rpmlint -c packaging/rpmlint.toml "${rpms[@]}" 2>&1 || true)
if grep -qE ': [EW]: ' <<<"$rpmlint_out" || ! grep -q ' 0 errors, 0 warnings' <<<"$rpmlint_out"; then
  echo "rpmlint: messages on ${rpms[*]}:"
  echo "$rpmlint_out"
  failed=1
else
  echo "rpmlint: ${#rpms[@]} packages clean"
fi
exit $failed
