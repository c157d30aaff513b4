// What task events cost (issue 26): the task figures of a driver recording task events (the
// default) and of one with them off (Config::task_events = false, for its workers too), in the
// same run.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// Each figure the median of 5 local clusters (2 CPUs) started alternately with task events off
// and on (each first in turn):
//   single_client_tasks_sync_events_off / _events_on, single_client_tasks_async_events_off /
//   _events_on, and task_events_on_over_off_tasks_sync, task_events_on_over_off_tasks_async:
//   their ratios (target ≥ 0.9: events cost at most 10 %).
void MeasureTaskEventsCost(const Reporter& report);

}  // namespace orrery::bench
