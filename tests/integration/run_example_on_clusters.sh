#!/usr/bin/env bash
# Runs an example as a user runs it: first on the local cluster Init() starts by itself, then on
# a cluster of three one-CPU raylets joined with the CLI; each time its output must match.
#   run_example_on_clusters.sh BIN_DIR EXAMPLE LOCAL_PATTERN CLUSTER_PATTERN
# The patterns are extended regular expressions, matched line by line. Both clusters are
# stopped and their folders removed, however the script ends.
set -euo pipefail
bin_dir="$1"
example="$2"
local_pattern="$3"
cluster_pattern="$4"
root="$(mktemp -d /tmp/ot-XXXXXX)"
local_root="$(mktemp -d /tmp/ot-XXXXXX)"
cleanup() {
  "$bin_dir/orrery" stop --temp-dir "$root" > /dev/null 2>&1 || true
  rm -rf "$root" "$local_root"
}
trap cleanup EXIT

output="$("$bin_dir/$example" --orrery_temp_dir="$local_root")"
echo "$output"
grep -Eq "$local_pattern" <<< "$output"

common=(--temp-dir "$root" --num-cpus 1 --node-ip-address 127.0.0.1)
head="$("$bin_dir/orrery" start --head --port 0 "${common[@]}")"
address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
token="$(grep -oP -- '--token \K\S+' <<< "$head")"
for _ in 1 2; do "$bin_dir/orrery" start --address "$address" --token "$token" "${common[@]}" > /dev/null; done
output="$("$bin_dir/$example" --orrery_address="$address" --orrery_token="$token" --orrery_temp_dir="$root")"
echo "$output"
grep -Eq "$cluster_pattern" <<< "$output"
