// orrery-microbench's cluster figure: tasks spread over three raylets on this machine, joined as
// a user joins them (`orrery start --head`, then `orrery start --address` twice).
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// multi_node_tasks_async: 1,000 no-op tasks submitted, then all awaited, on three one-CPU
// raylets (the driver's node spills the work to the others). Call with Orrery not initialized.
void MeasureMultiNode(const Reporter& report);

}  // namespace orrery::bench
