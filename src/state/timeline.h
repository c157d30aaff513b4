// Task attempts as a Chrome trace (the Trace Event Format's "JSON Object Format"), which
// chrome://tracing and Perfetto (ui.perfetto.dev) load: one row per worker, grouped by node.
// Pure, so that the conversion is unit-tested.
#pragma once

#include <cstdint>

#include "nlohmann/json.hpp"
#include "orrery/task_events.pb.h"

namespace orrery::state {

// {"traceEvents": [...], "displayTimeUnit": "ms"}: a complete event ("ph": "X") per attempt
// that ran, from running_us for its run time (up to `now_us` while it still runs), named
// after its function, on its node (a process, "pid") and worker (a thread, "tid"). The viewers
// want small integer ids, so nodes and workers are numbered from 1 in order of appearance, and
// metadata events ("ph": "M") name them "node <hex>" and "worker <hex>". Attempts that never
// ran are left out.
nlohmann::json TimelineJson(const rpc::GetTaskEventsReply& events, int64_t now_us);

// How many complete events (task runs) `trace` holds.
int64_t CountTaskRuns(const nlohmann::json& trace);

}  // namespace orrery::state
