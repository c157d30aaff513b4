#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz/ (clang-14, ASan+UBSan, build/fuzz).
#   scripts/fuzz.sh --list              the targets
#   scripts/fuzz.sh TARGET [SECONDS]    fuzz one target (default 300 s)
#   scripts/fuzz.sh all SECONDS         each target in turn, SECONDS each
#   scripts/fuzz.sh --build             only configure and build
# Each run reads tests/fuzz/corpus/TARGET/ (never modified) and build/fuzz/work/TARGET/, where new
# inputs go; crashes, leaks and timeouts go to build/fuzz/findings/TARGET/.
# To keep the new inputs worth having: scripts/fuzz.sh --merge TARGET (minimises into the seeds).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ORRERY_FUZZ_BUILD_DIR:-$root/build/fuzz}"
corpus_root="$root/tests/fuzz/corpus"
jobs="${ORRERY_FUZZ_JOBS:-2}"
# A leak is a finding; UB halts, except what ubsan.supp suppresses in third-party headers.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/fuzz/ubsan.supp"

targets() {
  sed -n 's/^orrery_fuzz_target(\([a-z_0-9]*\).*/\1/p' "$root/tests/fuzz/CMakeLists.txt"
}

configure() {
  if [ ! -f "$build/build.ninja" ]; then
    # fuzzer-no-link everywhere (coverage in the libraries too); only the targets link libFuzzer's
    # main (tests/fuzz/CMakeLists.txt). UB aborts, so the fuzzer sees it as a crash.
    local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
    CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DORRERY_FUZZ=ON -DORRERY_BUILD_BENCH=OFF -DORRERY_BUILD_EXAMPLES=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
  fi
}

build() {
  configure
  local names=()
  for t in "$@"; do names+=("fuzz_$t"); done
  # Others build in this tree too: one build at a time.
  flock /tmp/build.lock cmake --build "$build" -j"$jobs" --target "${names[@]}"
}

run() {
  local target="$1" seconds="$2"
  local work="$build/work/$target" findings="$build/findings/$target"
  mkdir -p "$work" "$findings"
  local log="$build/findings/$target.log"
  # tests/fuzz/TARGET.options: extra libFuzzer flags for one target, one a line (# comments).
  local options=()
  if [ -f "$root/tests/fuzz/$target.options" ]; then
    mapfile -t options < <(grep -v '^#' "$root/tests/fuzz/$target.options")
  fi
  echo "fuzz: $target for ${seconds}s (corpus $work, findings $findings, log $log)"
  local rc=0 started
  started="$(mktemp)"  # findings newer than this are this run's
  "$build/bin/fuzz_$target" "$work" "$corpus_root/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$findings/" "${options[@]}" >"$log" 2>&1 || rc=$?
  local execs findings_count
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  findings_count="$(find "$findings" -maxdepth 1 -type f -newer "$started" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  rm -f "$started"
  echo "fuzz: $target: ${execs:-?} executions, corpus $(ls "$work" | wc -l) files, $findings_count findings, exit $rc"
  if [ "$rc" -ne 0 ]; then grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" || true; fi
  return "$rc"
}

# Adds to the seeds the inputs of the work corpus that reach what the seeds do not, largest first
# while the corpus stays under 50 files (a corpus in git is read by every CI run).
merge() {
  local target="$1" seeds="$corpus_root/$1" merged budget
  merged="$(mktemp -d)"
  cp "$seeds"/* "$merged"/
  "$build/bin/fuzz_$target" -merge=1 "$merged" "$build/work/$target" >"$build/findings/$target.merge.log" 2>&1
  budget=$(( 50 - $(ls "$seeds" | wc -l) ))
  local added=0
  for f in $(ls -S "$merged"); do
    [ -e "$seeds/$f" ] && continue
    [ "$added" -ge "$budget" ] && break
    cp "$merged/$f" "$seeds/$f"
    added=$((added + 1))
  done
  local useful=$(( $(ls "$merged" | wc -l) - $(ls "$seeds" | wc -l) + added ))
  echo "fuzz: $target: $useful inputs add coverage; kept $added," \
    "corpus $(ls "$seeds" | wc -l) files, $(du -cb "$seeds"/* | tail -1 | cut -f1) bytes"
  rm -rf "$merged"
}

case "${1:-}" in
  --list) targets ;;
  --build) build $(targets) ;;
  --merge) build "$2"; merge "$2" ;;
  all)
    seconds="${2:?usage: fuzz.sh all SECONDS}"
    build $(targets)
    status=0
    for t in $(targets); do run "$t" "$seconds" || status=1; done
    exit "$status" ;;
  ""|-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  *)
    targets | grep -qx "$1" || { echo "fuzz: no target $1 (see --list)" >&2; exit 2; }
    build "$1"
    run "$1" "${2:-300}" ;;
esac
