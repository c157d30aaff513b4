#!/usr/bin/env bash
# Two hosts on one machine: two network namespaces joined by a veth pair, each with its own
# address from 198.18.0.0/15 (the range reserved for benchmark networks). Host A runs the head
# (GCS and a raylet), host B a raylet that joins it over the veth; nothing else reaches them,
# and their traffic stays on that pair and each namespace's loopback. The driver on A
# (two_hosts_driver) runs tasks, an actor, a placement group and a 1 GiB transfer across the
# hosts. Then it captures the veth (tcpdump) while the driver sends a marker across as a task
# argument and as a value, and the CLI on B calls the head: with `tls` (the cluster started with
# --tls=on, B joined with the line the head printed, --ca-hash included) neither the token nor
# the marker may appear in the capture; with `plain` both must, which shows the search finds
# them when they are there. Everything is stopped and the namespaces removed however the script
# ends. Needs root (CI runs as root) and `ip netns`; elsewhere it is skipped (exit 77).
#   two_hosts_test.sh BIN_DIR plain|tls
set -euo pipefail
bin_dir="$1"
mode="${2:-plain}"
source "$(dirname "${BASH_SOURCE[0]}")/netns_hosts.sh"
netns_hosts_check
command -v tcpdump > /dev/null || { echo "tcpdump is missing: scripts/install-deps.sh installs it" >&2; exit 1; }

root_a="$(mktemp -d /tmp/ot-XXXXXX)"
root_b="$(mktemp -d /tmp/ot-XXXXXX)"
capture_dir="$(mktemp -d /tmp/ot-XXXXXX)"
tcpdump_pid=""

cleanup() {
  if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2> /dev/null || true; fi
  ip netns exec "$ns_b" "$bin_dir/orrery" stop --temp-dir "$root_b" > /dev/null 2>&1 || true
  ip netns exec "$ns_a" "$bin_dir/orrery" stop --temp-dir "$root_a" > /dev/null 2>&1 || true
  netns_hosts_down
  rm -rf "$root_a" "$root_b" "$capture_dir"
}
trap cleanup EXIT
netns_hosts_up

# Stores of 3 GiB: the 1 GiB value, its copy, and room to spare.
common=(--num-cpus 2 --object-store-memory $(( 3 << 30 )))
head="$(ip netns exec "$ns_a" "$bin_dir/orrery" start --head --port 0 --node-ip-address "$ip_a" \
          --temp-dir "$root_a" --tls "$([ "$mode" = tls ] && echo on || echo off)" "${common[@]}")"
echo "$head"
address="$(grep -oP 'GCS address: \K\S+' <<< "$head")"
token="$(grep -oP -- '--token \K\S+' <<< "$head")"
[[ "$address" == "$ip_a:"* ]] || { echo "the head is not at $ip_a: $address" >&2; exit 1; }
# B joins with the line the head printed, as a user would paste it.
join_line="$(grep -oP '^\s*\Korrery start --address .*' <<< "$head")"
if [ "$mode" = tls ] && [[ "$join_line" != *"--ca-hash sha256:"* ]]; then
  echo "the join line of a TLS head carries no --ca-hash: $join_line" >&2
  exit 1
fi
read -r -a join_args <<< "${join_line#orrery }"
ip netns exec "$ns_b" "$bin_dir/orrery" "${join_args[@]}" --node-ip-address "$ip_b" --temp-dir "$root_b" "${common[@]}"

# A plain cluster's driver says so itself (--orrery_tls=false): a driver with TLS on refuses it.
driver_tls="$([ "$mode" = tls ] && echo true || echo false)"
output="$(ip netns exec "$ns_a" "$bin_dir/two_hosts_driver" --orrery_address="$address" --orrery_token="$token" \
            --orrery_temp_dir="$root_a" --orrery_tls="$driver_tls")"
echo "$output"
grep -q "^two hosts: every check passed" <<< "$output"

# What crosses the veth: the token (every call carries it) and the marker (a task argument, a
# task's answer, and 4 MiB of a value pulled from A's object data socket by B).
capture="$capture_dir/veth.pcap"
# A ring of 128 MiB: each packet takes a fixed-size slot in it (up to the snapshot length), and on a
# busy machine tcpdump wakes late; a 32 MiB ring once lost 17 packets to the kernel.
ip netns exec "$ns_b" tcpdump -i "$veth_b" --immediate-mode -U -n -B 131072 -w "$capture" 2> "$capture_dir/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$capture_dir/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$capture_dir/tcpdump.err" || { cat "$capture_dir/tcpdump.err" >&2; exit 1; }
marker="orrery-capture-marker-$RANDOM$RANDOM$RANDOM"
output="$(ORRERY_TWO_HOSTS_MARKER="$marker" ip netns exec "$ns_a" "$bin_dir/two_hosts_driver" \
            --orrery_address="$address" --orrery_token="$token" --orrery_temp_dir="$root_a" --orrery_tls="$driver_tls")"
echo "$output"
grep -q "^two hosts: every check passed" <<< "$output"
ip netns exec "$ns_b" "$bin_dir/orrery" status --temp-dir "$root_b" > /dev/null
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=""
cat "$capture_dir/tcpdump.err"
bytes=$(stat -c %s "$capture")
echo "captured $bytes bytes on the veth"
(( bytes > (4 << 20) )) || { echo "the capture holds less than the 4 MiB value that crossed" >&2; exit 1; }
for secret in token marker; do
  if grep -a -q -F -- "${!secret}" "$capture"; then seen=yes; else seen=no; fi
  echo "the $secret in clear text on the veth: $seen"
  if [ "$mode" = tls ] && [ "$seen" = yes ]; then exit 1; fi
  if [ "$mode" = plain ] && [ "$seen" = no ]; then exit 1; fi
done
echo "two hosts ($mode): the capture shows what it should"
