#!/usr/bin/env bash
# The pipeline example as a user runs it: on the local cluster Init() starts by itself, then on
# a cluster of three one-CPU raylets joined with the CLI, where its three stages must land on
# three different nodes and the activations move between them.
set -euo pipefail
bin_dir="$1"
root="$(mktemp -d /tmp/ot-XXXXXX)"
local_root="$(mktemp -d /tmp/ot-XXXXXX)"
cleanup() {
  "$bin_dir/orrery" stop --temp-dir "$root" > /dev/null 2>&1 || true
  rm -rf "$root" "$local_root"
}
trap cleanup EXIT

output="$("$bin_dir/pipeline" --orrery_temp_dir="$local_root")"
echo "$output"
grep -Eq "^pipeline: 8 micro-batches through 3 stages on 1 node\(s\)" <<< "$output"

common=(--temp-dir "$root" --num-cpus 1 --node-ip-address 127.0.0.1)
head="$("$bin_dir/orrery" start --head --port 0 "${common[@]}")"
address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
token="$(grep -oP -- '--token \K\S+' <<< "$head")"
for _ in 1 2; do "$bin_dir/orrery" start --address "$address" --token "$token" "${common[@]}" > /dev/null; done
output="$("$bin_dir/pipeline" --orrery_address="$address" --orrery_token="$token" --orrery_temp_dir="$root")"
echo "$output"
grep -Eq "^pipeline: 8 micro-batches through 3 stages on 3 node\(s\)" <<< "$output"
