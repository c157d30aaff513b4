// Task attempts as a Chrome trace (the Trace Event Format's "JSON Object Format"), which
// chrome://tracing and Perfetto (ui.perfetto.dev) load: one row per worker, grouped by node.
// Pure, so that the conversion is unit-tested.
#pragma once

#include <cstdint>
#include <string>

#include "orrery/task_events.pb.h"

namespace orrery::state {

// {"traceEvents": [...], "displayTimeUnit": "ms"} as JSON text: a complete event ("ph": "X")
// per attempt that ran, from running_us for its run time (up to `now_us` while it still runs),
// named after its function, on its node (a process, "pid") and worker (a thread, "tid"). The
// viewers want small integer ids, so nodes and workers are numbered from 1 in order of
// appearance, and metadata events ("ph": "M") name them "node <hex>" and "worker <hex>"; a run's
// args are its task id, attempt, state, job id and, when set, name and error type. Attempts that
// never ran are left out. Written as text, not built as a JSON document: the dashboard's
// timeline of 10,000 runs waited three times as long for nlohmann's.
std::string TimelineJson(const rpc::GetTaskEventsReply& events, int64_t now_us);

// How many complete events (task runs) TimelineJson writes for `events`.
int64_t CountTaskRuns(const rpc::GetTaskEventsReply& events);

}  // namespace orrery::state
