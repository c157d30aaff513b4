// The runtime's call figures beside their floors, measured alternately in the same run: each
// figure the median of 5 rounds, each round measuring it and its floor back to back, each first
// in turn (a noisy machine's slow spell then weighs on both).
#pragma once

#include "fork_floor.h"
#include "grpc_floor.h"

namespace orrery::bench {

// On the running cluster, against the echo server on `echo_port` (0: no floor, the runtime's
// figures alone): single_client_tasks_sync, task_roundtrip_p50_us, task_roundtrip_p99_us and
// 1_1_actor_calls_sync beside grpc_unary_pingpong and grpc_unary_p50_us, with the ratios
// single_client_tasks_sync_over_grpc_unary, 1_1_actor_calls_sync_over_grpc_unary and
// task_roundtrip_p50_over_grpc_unary_p50; then single_client_tasks_async beside
// multi_client_tasks_async, with multi_client_over_single_client_tasks_async; then
// actor_creation_per_s beside `fork_floor`'s zygote_fork_floor_per_s, with
// actor_creation_over_zygote_fork_floor (no floor: the actors' figure alone).
void MeasureAgainstFloors(int echo_port, const ForkFloor& fork_floor, const Reporter& report);

}  // namespace orrery::bench
