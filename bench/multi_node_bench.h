// orrery-microbench's cluster figure: tasks spread over three raylets on this machine, joined as
// a user joins them (`orrery start --head`, then `orrery start --address` twice).
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// `count` no-op tasks submitted, then all awaited: the shape of multi_node_tasks_async (and of
// Ray's single_client_tasks_async), on whatever cluster this driver is in.
void SubmitAndGet(int count);

// multi_node_tasks_async: 1,000 no-op tasks submitted, then all awaited, on three one-CPU
// raylets (the driver's node spills the work to the others). Then, with two more raylets:
// object_transfer_gigabytes (a 1 GiB object made on one node read in place on another, the
// best of 3; object_transfer_1gib_s is its time), broadcast_1gib_4_nodes_s (one 1 GiB object
// read on four other nodes at once) and tcp_loopback_gigabytes, the raw TCP floor of the same
// run. Call with Orrery not initialized.
void MeasureMultiNode(const Reporter& report);

}  // namespace orrery::bench
