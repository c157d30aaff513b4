# Two hosts on one machine, sourced by two_hosts_test.sh and bench/two_hosts_transfer.sh: two
# network namespaces joined by a veth pair, each with its own address from 198.18.0.0/15 (the
# range reserved for benchmark networks). Nothing else reaches them; their traffic stays on that
# pair and each namespace's loopback.
#   netns_hosts_up [RATE]   makes them ($ns_a/$ip_a, $ns_b/$ip_b, the veth ends $veth_a/$veth_b);
#                           RATE (tc's units, e.g. 10gbit) caps each direction of the link
#   netns_hosts_down        kills what still runs in them and removes them
# Needs root and iproute2: netns_hosts_check exits 77 (skipped) where they are missing.

netns_hosts_check() {
  if [ "$(id -u)" -ne 0 ] || ! command -v ip > /dev/null; then
    echo "skipped: needs root and iproute2 to make network namespaces"
    exit 77
  fi
}

tag="o$$"
ns_a="${tag}a"
ns_b="${tag}b"
veth_a="${tag}va"
veth_b="${tag}vb"
# A /30 of its own inside 198.18.0.0/15, so that runs at the same time do not clash.
subnet=$(( ($$ % 16000) * 4 ))
ip_a="198.$(( 18 + subnet / 65536 )).$(( subnet / 256 % 256 )).$(( subnet % 256 + 1 ))"
ip_b="198.$(( 18 + subnet / 65536 )).$(( subnet / 256 % 256 )).$(( subnet % 256 + 2 ))"

netns_hosts_up() {
  local rate="${1:-}"
  if ! ip netns add "$ns_a" 2> /dev/null; then
    echo "skipped: this machine cannot make network namespaces"
    exit 77
  fi
  ip netns add "$ns_b"
  ip link add "$veth_a" type veth peer name "$veth_b"
  ip link set "$veth_a" netns "$ns_a"
  ip link set "$veth_b" netns "$ns_b"
  ip -n "$ns_a" addr add "$ip_a/30" dev "$veth_a"
  ip -n "$ns_b" addr add "$ip_b/30" dev "$veth_b"
  for ns in "$ns_a" "$ns_b"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$ns_a" link set "$veth_a" up
  ip -n "$ns_b" link set "$veth_b" up
  if [ -n "$rate" ]; then
    # A token bucket on each end's egress: the link carries RATE each way, as a NIC of that speed.
    ip netns exec "$ns_a" tc qdisc add dev "$veth_a" root tbf rate "$rate" burst 4mb latency 50ms
    ip netns exec "$ns_b" tc qdisc add dev "$veth_b" root tbf rate "$rate" burst 4mb latency 50ms
  fi
}

netns_hosts_down() {
  for ns in "$ns_a" "$ns_b"; do
    # Anything still running in a namespace would keep it alive.
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -9 "$pid" 2> /dev/null || true; done
    ip netns del "$ns" 2> /dev/null || true
  done
}
