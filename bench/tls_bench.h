// What mutual TLS costs the task path: the sync figures on a local cluster with TLS and on one
// without, in the same run (orrery-microbench; issue 23 wants the TLS ones >= 0.9x).
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// single_client_tasks_sync_tls / _plain and 1_1_actor_calls_sync_tls / _plain: each the median
// of 3 local clusters started alternately with --tls=on and --tls=off (the rest of the run's
// figures use the default, plain until TLS is on by default); tls_over_plain_tasks_sync and
// tls_over_plain_actor_calls_sync, the ratios of those medians.
void MeasureTlsCost(const Reporter& report);

}  // namespace orrery::bench
