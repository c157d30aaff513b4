#!/usr/bin/env bash
# The 1 GiB transfer between raylets on two hosts, with mutual TLS and without, on a link of a
# given speed: two network namespaces joined by a veth pair whose ends are capped by a token
# bucket (tests/integration/netns_hosts.sh), as two hosts with NICs of that speed. Each run
# starts a cluster (head on A, a raylet joined from B with the line the head printed), and the
# driver on A puts 1 GiB and has a task on B read it (two_hosts_driver, transfer only); plain and
# TLS runs alternate. Prints JSON lines like orrery-microbench: the median seconds of each, the
# link's own floor (its rate, as seconds for 1 GiB), and TLS's throughput over plain's.
# Needs root and iproute2 (exit 77 elsewhere).
#   bench/two_hosts_transfer.sh BIN_DIR [RATE=10gbit] [RUNS=3]
set -euo pipefail
bin_dir="$(cd "$1" && pwd)"
rate="${2:-10gbit}"
runs="${3:-3}"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/netns_hosts.sh"
netns_hosts_check

root_a=""
root_b=""
stop_cluster() {
  [ -n "$root_b" ] && ip netns exec "$ns_b" "$bin_dir/orrery" stop --temp-dir "$root_b" > /dev/null 2>&1 || true
  [ -n "$root_a" ] && ip netns exec "$ns_a" "$bin_dir/orrery" stop --temp-dir "$root_a" > /dev/null 2>&1 || true
  rm -rf "$root_a" "$root_b"
  root_a=""
  root_b=""
}
cleanup() {
  stop_cluster
  netns_hosts_down
}
trap cleanup EXIT
netns_hosts_up "$rate"

# One cluster with --tls=$1, one transfer: prints its seconds.
transfer_seconds() {
  local tls="$1"
  root_a="$(mktemp -d /tmp/ob-XXXXXX)"
  root_b="$(mktemp -d /tmp/ob-XXXXXX)"
  local common=(--num-cpus 1 --object-store-memory $(( 3 << 30 )))
  local head
  head="$(ip netns exec "$ns_a" "$bin_dir/orrery" start --head --port 0 --node-ip-address "$ip_a" \
            --temp-dir "$root_a" --tls "$tls" "${common[@]}" 2> /dev/null)"
  local address token join_line
  address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
  token="$(grep -oP -- '--token \K\S+' <<< "$head")"
  join_line="$(grep -oP '^\s*\Korrery start --address .*' <<< "$head")"
  read -r -a join_args <<< "${join_line#orrery }"
  ip netns exec "$ns_b" "$bin_dir/orrery" "${join_args[@]}" --node-ip-address "$ip_b" --temp-dir "$root_b" \
    "${common[@]}" > /dev/null
  local output
  output="$(ORRERY_TWO_HOSTS_TRANSFER_ONLY=1 ip netns exec "$ns_a" "$bin_dir/two_hosts_driver" \
              --orrery_address="$address" --orrery_token="$token" --orrery_temp_dir="$root_a" \
              --orrery_tls="$([ "$tls" = on ] && echo true || echo false)" 2> /dev/null)"
  stop_cluster
  grep -q "^two hosts: every check passed" <<< "$output" || { echo "the transfer failed: $output" >&2; exit 1; }
  grep -oP '1 GiB across the hosts in \K[0-9.]+' <<< "$output"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

plain=()
tls=()
for _ in $(seq "$runs"); do
  plain+=("$(transfer_seconds off)")
  tls+=("$(transfer_seconds on)")
done
plain_median="$(printf '%s\n' "${plain[@]}" | median)"
tls_median="$(printf '%s\n' "${tls[@]}" | median)"
# The link's floor: 1 GiB at its rate (tc's units: [k|m|g]bit).
bits_per_second="$(awk -v r="$rate" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u);
  m = (u == "gbit") ? 1e9 : (u == "mbit") ? 1e6 : (u == "kbit") ? 1e3 : 1; print n * m }')"
floor="$(awk -v b="$bits_per_second" 'BEGIN { printf "%.3f", 8 * 1073741824 / b }')"
echo "{\"name\": \"two_hosts_1gib_transfer_link_floor\", \"value\": $floor, \"unit\": \"s\", \"link\": \"$rate\"}"
echo "{\"name\": \"two_hosts_1gib_transfer_plain\", \"value\": $plain_median, \"unit\": \"s\", \"runs\": \"${plain[*]}\"}"
echo "{\"name\": \"two_hosts_1gib_transfer_tls\", \"value\": $tls_median, \"unit\": \"s\", \"runs\": \"${tls[*]}\"}"
awk -v p="$plain_median" -v t="$tls_median" \
  'BEGIN { printf "{\"name\": \"tls_over_plain_two_hosts_transfer\", \"value\": %.3f, \"unit\": \"ratio\"}\n", p / t }'
