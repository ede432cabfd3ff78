#!/usr/bin/env bash
# The whole test suite, as the README promises: installs what it needs, builds with
# warnings as errors, runs every test (unit, netns, vm; not bench), runs each fuzz
# target briefly, and builds the .deb and .rpm packages (checked by lintian and rpmlint).
#
#   scripts/test.sh                 everything
#   FUZZ_SECONDS=5 scripts/test.sh  shorter fuzz runs
#   SKIP_INSTALL=1 scripts/test.sh  do not call apt-get (packages already present)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
JOBS=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
  step "installing Debian packages (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi

step "checking formatting (clang-format-14)"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' 2>/dev/null || true)
if ((${#sources[@]})); then
  clang-format-14 --dry-run --Werror "${sources[@]}"
fi
echo "format: ${#sources[@]} files clean"

step "configuring and building (preset ci: warnings are errors)"
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$JOBS"

step "static analysis (clang-tidy-14 on the core library)"
mapfile -t core_sources < <(ls core/src/*.cpp)
if ! tidy_out=$(clang-tidy-14 -p build/ci --quiet --warnings-as-errors='*' "${core_sources[@]}" 2>&1); then
  echo "$tidy_out"; echo "clang-tidy found problems (see above)"; exit 1
fi
echo "clang-tidy: ${#core_sources[@]} files clean"

# Before the tests: the systemd guests install these very packages (tests/e2e/systemd_*).
step "building packages (cpack DEB and RPM) and linting them (lintian, rpmlint)"
rm -rf build/ci/packages
(cd build/ci && cpack -G DEB >/dev/null && cpack -G RPM >/dev/null)
ls -1 build/ci/packages/*.deb build/ci/packages/*.rpm
lint_failed=0
scripts/lint-packages.sh build/ci/packages || lint_failed=1

step "running tests (ctest, labels unit/netns/vm; bench excluded)"
rm -f build/ci/ctest-junit.xml
set +e
ctest --preset ci --output-junit ctest-junit.xml
ctest_rc=$?
set -e
/usr/bin/python3 scripts/test_summary.py build/ci/ctest-junit.xml | tee build/ci/test-summary.txt

step "fuzzing each target for ${FUZZ_SECONDS}s (clang-14 libFuzzer, ASan+UBSan)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$JOBS"
fuzz_failed=0
for target in build/fuzz/tests/fuzz/*_fuzz; do
  name=$(basename "$target" _fuzz)
  corpus=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$corpus/" 2>/dev/null || true
  if "$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/${name}-" "$corpus" \
      >"build/fuzz/${name}.log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "build/fuzz/${name}.log" | awk '{print $2}')
    echo "fuzz ${name}: ok, ${execs:-?} runs in ${FUZZ_SECONDS}s"
  else
    echo "fuzz ${name}: FAILED"; tail -40 "build/fuzz/${name}.log"; fuzz_failed=1
  fi
  rm -rf "$corpus"
done

step "summary"
cat build/ci/test-summary.txt
if ((ctest_rc != 0 || fuzz_failed != 0 || lint_failed != 0)); then
  echo "FAILED (ctest exit $ctest_rc, fuzz failed: $fuzz_failed, package lint failed: $lint_failed)"
  exit 1
fi
