// What metrics cost (issue 25): the task and actor figures on a cluster serving /metrics and
// on one with them off (`--metrics=false`: no /metrics, no RPC counting), in the same run; and
// how long a raylet with 50 workers takes to answer a scrape.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// Each figure the median of 5 single-node clusters (2 CPUs) started alternately with metrics
// off and on (each first in turn):
//   single_client_tasks_async_metrics_on / _off, 1_1_actor_calls_sync_metrics_on / _off, and
//   metrics_on_over_off_tasks_async, metrics_on_over_off_actor_calls_sync: their ratios.
// Then, on a cluster with metrics on, 50 actors (a worker process each) that have each
// reported a metric of their own, and 200 scrapes of the raylet's /metrics, one at a time, each
// over a new HTTPS connection:
//   metrics_scrape_50_workers_p50_ms, metrics_scrape_50_workers_p99_ms, and
//   metrics_scrape_bytes (the size of one answer).
void MeasureMetricsCost(const Reporter& report);

}  // namespace orrery::bench
