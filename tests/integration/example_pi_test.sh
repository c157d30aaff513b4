#!/usr/bin/env bash
# The README demo, as a user runs it: the example starts its own local cluster, estimates π over
# remote functions in real worker processes, and stops the cluster.
set -euo pipefail
bin_dir="$1"
root="$(mktemp -d /tmp/ot-XXXXXX)"
errors="$(mktemp /tmp/ot-stderr-XXXXXX)"
trap 'rm -rf "$root" "$errors"' EXIT
output="$("$bin_dir/monte_carlo_pi" --orrery_temp_dir="$root" 2> "$errors")"
echo "$output"
cat "$errors"
grep -Eq "π ≈ 3\.1[0-9]* from 32000000 points in 16 tasks" <<< "$output"
# Its progress, on a stderr that is not a terminal: a line per tenth, the last at 16 of 16.
grep -Eq "^counting: 16/16 \(100%\), [0-9.]+/s, done in [0-9]+ s$" "$errors"
# Shutdown() left no daemon of that cluster behind.
if pgrep -f -- "--temp-dir=$root" > /dev/null; then
  echo "processes of the example's cluster are still running" >&2
  exit 1
fi
