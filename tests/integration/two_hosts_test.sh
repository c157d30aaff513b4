#!/usr/bin/env bash
# Two hosts on one machine: two network namespaces joined by a veth pair, each with its own
# address from 198.18.0.0/15 (the range reserved for benchmark networks). Host A runs the head
# (GCS and a raylet), host B a raylet that joins it over the veth; nothing else reaches them,
# and their traffic stays on that pair and each namespace's loopback. The driver on A
# (two_hosts_driver) runs tasks, an actor, a placement group and a 1 GiB transfer across the
# hosts. Everything is stopped and the namespaces removed however the script ends.
# Needs root (CI runs as root) and `ip netns`; elsewhere it is skipped (exit 77).
set -euo pipefail
bin_dir="$1"
if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null; then
  echo "skipped: needs root and iproute2 to make network namespaces"
  exit 77
fi

tag="o$$"
ns_a="${tag}a"
ns_b="${tag}b"
# A /30 of its own inside 198.18.0.0/15, so that runs at the same time do not clash.
subnet=$(( ($$ % 16000) * 4 ))
ip_a="198.$(( 18 + subnet / 65536 )).$(( subnet / 256 % 256 )).$(( subnet % 256 + 1 ))"
ip_b="198.$(( 18 + subnet / 65536 )).$(( subnet / 256 % 256 )).$(( subnet % 256 + 2 ))"
root_a="$(mktemp -d /tmp/ot-XXXXXX)"
root_b="$(mktemp -d /tmp/ot-XXXXXX)"

cleanup() {
  ip netns exec "$ns_b" "$bin_dir/orrery" stop --temp-dir "$root_b" > /dev/null 2>&1 || true
  ip netns exec "$ns_a" "$bin_dir/orrery" stop --temp-dir "$root_a" > /dev/null 2>&1 || true
  for ns in "$ns_a" "$ns_b"; do
    # Anything still running in a namespace would keep it alive.
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "$ns" 2> /dev/null || true
  done
  rm -rf "$root_a" "$root_b"
}
trap cleanup EXIT

if ! ip netns add "$ns_a" 2> /dev/null; then
  echo "skipped: this machine cannot make network namespaces"
  exit 77
fi
ip netns add "$ns_b"
ip link add "${tag}va" type veth peer name "${tag}vb"
ip link set "${tag}va" netns "$ns_a"
ip link set "${tag}vb" netns "$ns_b"
ip -n "$ns_a" addr add "$ip_a/30" dev "${tag}va"
ip -n "$ns_b" addr add "$ip_b/30" dev "${tag}vb"
for ns in "$ns_a" "$ns_b"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set "${tag}va" up
ip -n "$ns_b" link set "${tag}vb" up

# Stores of 3 GiB: the 1 GiB value, its copy, and room to spare.
common=(--num-cpus 2 --object-store-memory $(( 3 << 30 )))
head="$(ip netns exec "$ns_a" "$bin_dir/orrery" start --head --port 0 --node-ip-address "$ip_a" \
          --temp-dir "$root_a" "${common[@]}")"
echo "$head"
address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
token="$(grep -oP -- '--token \K\S+' <<< "$head")"
[[ "$address" == "$ip_a:"* ]] || { echo "the head is not at $ip_a: $address" >&2; exit 1; }
ip netns exec "$ns_b" "$bin_dir/orrery" start --address "$address" --token "$token" --node-ip-address "$ip_b" \
  --temp-dir "$root_b" "${common[@]}"

output="$(ip netns exec "$ns_a" "$bin_dir/two_hosts_driver" --orrery_address="$address" --orrery_token="$token" \
            --orrery_temp_dir="$root_a")"
echo "$output"
grep -q "^two hosts: every check passed" <<< "$output"
