// orrery-microbench's lineage-reconstruction figure: a lost 1 GiB task result made again.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// reconstruction_1gib_s: a 1 GiB result whose node was killed (SIGKILL, and declared dead by the
// GCS), read by a task on a live node: its owner runs the task that made it again there. Beside
// it rerun_1gib_s, the floor of the same run: the same task run directly and read by the same
// reader, and reconstruction_1gib_over_rerun (the issue asks at most 1.5). Best of 3 rounds,
// each on a new node that dies. Call with Orrery not initialized.
void MeasureReconstruction(const Reporter& report);

}  // namespace orrery::bench
