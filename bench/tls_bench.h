// What mutual TLS costs the task path: the sync figures on a cluster with TLS and on one without,
// in the same run (orrery-microbench; issue 23 wants the TLS ones >= 0.9x).
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// Each figure the median of 3 clusters started alternately with --tls=on and --tls=off (the rest
// of the run's figures use the default, TLS on), each a head of 2 CPUs whose raylet the driver
// uses and a second raylet of one CPU joined under another temp root (as from another host):
//   single_client_tasks_sync_tls / _plain and 1_1_actor_calls_sync_tls / _plain: tasks and an
//     actor on the driver's node, reached over Unix sockets, which never use TLS;
//   1_1_actor_calls_sync_cross_node_tls / _plain: an actor on the other node, reached over TCP
//     (mutual TLS when on), what calls between hosts pay;
//   tls_over_plain_tasks_sync, tls_over_plain_actor_calls_sync and
//     tls_over_plain_actor_calls_sync_cross_node: the ratios of those medians.
void MeasureTlsCost(const Reporter& report);

}  // namespace orrery::bench
