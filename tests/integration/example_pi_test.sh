#!/usr/bin/env bash
# The README demo, as a user runs it: the example starts its own local cluster, estimates π over
# remote functions in real worker processes, and stops the cluster.
set -euo pipefail
bin_dir="$1"
root="$(mktemp -d /tmp/ot-XXXXXX)"
trap 'rm -rf "$root"' EXIT
output="$("$bin_dir/monte_carlo_pi" --orrery_temp_dir="$root")"
echo "$output"
grep -Eq "π ≈ 3\.1[0-9]* from 32000000 points in 16 tasks" <<< "$output"
# Shutdown() left no daemon of that cluster behind.
if pgrep -f -- "--temp-dir=$root" > /dev/null; then
  echo "processes of the example's cluster are still running" >&2
  exit 1
fi
