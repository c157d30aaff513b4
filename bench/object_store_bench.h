// orrery-microbench's object-store figures: large values through the shared-memory store,
// small ones forced through it, and the memcpy rates they are compared with.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// On the running cluster: single_client_put_gigabytes(_cold), single_client_get_gigabytes,
// single_client_get_view_1gib_us, multi_client_put_gigabytes.
void MeasureLargeObjects(const Reporter& report);
// On a cluster started with --object-store-prefault and every value in the store:
// single_client_put_gigabytes_prefault, single_client_put_calls_Plasma_Store,
// single_client_get_calls_Plasma_Store.
void MeasureStoreCalls(const Reporter& report);
// memcpy_fresh_gigabytes and memcpy_touched_gigabytes (no cluster needed).
void MeasureMemcpy(const Reporter& report);

}  // namespace orrery::bench
