#!/usr/bin/env bash
# Runs a Ray-shaped program as its user runs it: on the local cluster Init() starts by itself,
# then in local mode (--ray_local_mode=true; not for a program that reads no flags, with
# NO_LOCAL_MODE=1). Each run must exit 0 and print a line matching PATTERN. With LOG_PATTERN
# set, some worker log of the cluster run must match it; with NOT_IN_WORKER_OUTPUT set, no
# worker's output file (worker-*.out, what is forwarded to the driver's terminal) may; with
# ONCE_PATTERN set, exactly one line of each run's output must. The program finds a fresh file's
# path in COMPAT_BEFORE_INIT_FILE.
#   [LOG_PATTERN=RE] [NOT_IN_WORKER_OUTPUT=RE] [ONCE_PATTERN=RE] [NO_LOCAL_MODE=1] \
#     run_ray_program.sh BIN_DIR PROGRAM PATTERN [ARGS...]
# The cluster is stopped and its folder removed however the script ends.
set -euo pipefail
bin_dir="$1"
program="$2"
pattern="$3"
log_pattern="${LOG_PATTERN:-}"
once_pattern="${ONCE_PATTERN:-}"
shift 3
root="$(mktemp -d /tmp/ot-XXXXXX)"
cleanup() {
  "$bin_dir/orrery" stop --temp-dir "$root" > /dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

check_output() {
  echo "$1"
  grep -Eq "$pattern" <<< "$1" || { echo "no line of the output matches $pattern" >&2; exit 1; }
  if [ -n "$once_pattern" ]; then
    local count
    count="$(grep -Ec "$once_pattern" <<< "$1" || true)"
    [ "$count" -eq 1 ] || { echo "$count lines of the output match $once_pattern, not 1" >&2; exit 1; }
  fi
}

echo "--- $program on the local cluster Init() starts"
check_output "$(ORRERY_TEMP_DIR="$root" COMPAT_BEFORE_INIT_FILE="$root/before_init.cluster" \
  "$bin_dir/$program" "$@")"
if [ -n "$log_pattern" ]; then
  find "$root" -name 'worker-*.log' -exec grep -Eq "$log_pattern" {} + 2> /dev/null || {
    echo "no worker log under $root matches $log_pattern" >&2
    exit 1
  }
fi

if [ -n "${NOT_IN_WORKER_OUTPUT:-}" ]; then
  if find "$root" -name 'worker-*.out' -exec grep -El "$NOT_IN_WORKER_OUTPUT" {} + 2> /dev/null; then
    echo "the worker output files above match $NOT_IN_WORKER_OUTPUT" >&2
    exit 1
  fi
fi
[ "${NO_LOCAL_MODE:-0}" = 1 ] && exit 0
echo "--- $program in local mode"
check_output "$(COMPAT_BEFORE_INIT_FILE="$root/before_init.local" "$bin_dir/$program" --ray_local_mode=true "$@")"
