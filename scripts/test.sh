#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#   1. a Release build and all its tests (unit, integration with real daemons, install);
#   2. an ASan+UBSan build (-O1 -g0) of the tests, and their run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"

run_tests() {
  local dir="$1" failed=0
  # Unit tests in parallel; integration tests (real daemons, timing-sensitive checks such as
  # "a dead node is noticed within a second") one at a time. Both always run, and either
  # failing fails the call (which `set -e` does not see to when the caller tests the result).
  (cd "$dir" && ctest --output-on-failure -j2 -LE integration --timeout 300) || failed=1
  (cd "$dir" && ctest --output-on-failure -j1 -L integration --timeout 300) || failed=1
  return "$failed"
}

echo "== Release build"
scripts/build.sh release
echo "== Release tests"
run_tests build/release

echo "== ASan+UBSan build"
scripts/build.sh asan
echo "== ASan+UBSan tests"
# Every process writes its reports to files, daemons and workers included (their stderr goes to
# logs nobody reads), named after the program that wrote them: any report fails the run.
reports="$PWD/build/asan/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:log_path=$reports/asan:log_exe_name=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
status=0
run_tests build/asan || status=$?
if compgen -G "$reports/*" > /dev/null; then
  echo "== Sanitizer reports:"
  for report in "$reports"/*; do echo "--- $report"; cat "$report"; done
  exit 1
fi
[ "$status" -eq 0 ] || exit "$status"
echo "== All tests passed"
