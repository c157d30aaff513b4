#!/usr/bin/env bash
# The data-parallel training example as a user runs it: on the local cluster Init() starts by
# itself (one node, one trainer), then on three one-CPU raylets joined with the CLI, where its
# STRICT_SPREAD group puts one trainer on each node. Either way the loss must fall (the program
# exits non-zero otherwise).
set -euo pipefail
bin_dir="$1"
root="$(mktemp -d /tmp/ot-XXXXXX)"
local_root="$(mktemp -d /tmp/ot-XXXXXX)"
cleanup() {
  "$bin_dir/orrery" stop --temp-dir "$root" > /dev/null 2>&1 || true
  rm -rf "$root" "$local_root"
}
trap cleanup EXIT

output="$("$bin_dir/train_data_parallel" --orrery_temp_dir="$local_root")"
echo "$output"
grep -Eq "^train_data_parallel: 1 trainer\(s\) on 1 node\(s\)" <<< "$output"

common=(--temp-dir "$root" --num-cpus 1 --node-ip-address 127.0.0.1)
head="$("$bin_dir/orrery" start --head --port 0 "${common[@]}")"
address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
token="$(grep -oP -- '--token \K\S+' <<< "$head")"
for _ in 1 2; do "$bin_dir/orrery" start --address "$address" --token "$token" "${common[@]}" > /dev/null; done
output="$("$bin_dir/train_data_parallel" --orrery_address="$address" --orrery_token="$token" --orrery_temp_dir="$root")"
echo "$output"
grep -Eq "^train_data_parallel: 3 trainer\(s\) on 3 node\(s\)" <<< "$output"
