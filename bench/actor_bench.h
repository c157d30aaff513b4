// orrery-microbench's actor figures, with Ray's definitions (BENCHMARKS.md in the shared design
// folder): calls from one caller to one actor (sync, async, concurrent), one to many, many to
// many, tasks submitted by actors, and actor creation.
#pragma once

#include <string>
#include <vector>

#include "grpc_floor.h"

namespace orrery::bench {

// On the running cluster: 1_1_actor_calls_async, 1_1_actor_calls_concurrent,
// 1_n_actor_calls_async, n_n_actor_calls_async, n_n_actor_calls_with_arg_async. (The sync
// figures, multi_client_tasks_async and actor_creation_per_s are floor_bench.h's.)
void MeasureActors(const Reporter& report);

// single_client_tasks_sync on the running cluster: 2,000 no-op tasks, each awaited before the
// next is submitted (after 200 to start workers); the best rate of 3 rounds.
double SyncTaskRate();

// `tasks` no-op tasks, each awaited before the next is submitted: each one's round trip
// (submission to value), in µs.
std::vector<double> SyncTaskMicros(int tasks);

// single_client_tasks_async on the running cluster: 1,000 no-op tasks submitted, then all
// awaited; the best rate of 5 rounds.
double AsyncTaskRate();

// 1_1_actor_calls_sync on the running cluster: 2,000 calls to a new actor, each awaited before
// the next (after 200 to warm up); the best rate of `rounds` rounds. The actor is killed after.
// It runs on the node `node` (hex id) names, or where the cluster places it when empty.
double SyncActorCallRate(const std::string& node = "", int rounds = 3);

// multi_client_tasks_async on the running cluster (Ray's): 4 Client actors, each submitting
// 10,000 no-op tasks and getting them all; one round, tasks/s. The clients are killed after.
double MultiClientTaskRate();

// actor_creation_per_s on the running cluster: 100 actors created, the first call on each
// awaited, all killed; actors per second over the whole, the best of `rounds` rounds.
double ActorCreationRate(int rounds = 3);

}  // namespace orrery::bench
