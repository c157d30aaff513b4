#include "floor_bench.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "actor_bench.h"
#include "comparison.h"
#include "rate.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 5;
constexpr int kCalls = 2000;

// One figure per round.
struct SyncRounds {
  std::vector<double> echo_rate, echo_p50_us;
  std::vector<double> task_rate, task_p50_us, task_p99_us, actor_call_rate;
};

double RateOf(const std::vector<double>& micros) {
  double total = 0;
  for (double m : micros) total += m;
  return micros.size() / (total / 1e6);
}

double P99(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() * 99 / 100];
}

// Each round's ratio, the rounds paired as measured (their median is the figure reported).
std::vector<double> Ratios(const std::vector<double>& over, const std::vector<double>& under) {
  std::vector<double> ratios;
  for (size_t i = 0; i < over.size() && i < under.size(); ++i) ratios.push_back(over[i] / under[i]);
  return ratios;
}

void MeasureSyncRound(int echo_port, bool runtime, SyncRounds& rounds) {
  if (!runtime) {
    if (echo_port == 0) return;
    std::vector<double> micros = UnaryEchoMicros(echo_port, kCalls);
    rounds.echo_rate.push_back(RateOf(micros));
    rounds.echo_p50_us.push_back(Median(micros));
    return;
  }
  std::vector<double> micros = SyncTaskMicros(kCalls);
  rounds.task_rate.push_back(RateOf(micros));
  rounds.task_p50_us.push_back(Median(micros));
  rounds.task_p99_us.push_back(P99(micros));
  rounds.actor_call_rate.push_back(SyncActorCallRate("", 1));
}

void MeasureSyncCalls(int echo_port, const Reporter& report) {
  SyncTaskMicros(200);  // workers started before the first round
  SyncRounds rounds;
  MeasureAlternately(kRounds, [&](bool runtime) { MeasureSyncRound(echo_port, runtime, rounds); });
  report("single_client_tasks_sync", Median(rounds.task_rate), "ops/s");
  report("task_roundtrip_p50_us", Median(rounds.task_p50_us), "us");
  report("task_roundtrip_p99_us", Median(rounds.task_p99_us), "us");
  report("1_1_actor_calls_sync", Median(rounds.actor_call_rate), "calls/s");
  if (echo_port == 0) return;
  report("grpc_unary_pingpong", Median(rounds.echo_rate), "ops/s");
  report("grpc_unary_p50_us", Median(rounds.echo_p50_us), "us");
  report("single_client_tasks_sync_over_grpc_unary", Median(Ratios(rounds.task_rate, rounds.echo_rate)), "ratio");
  report("1_1_actor_calls_sync_over_grpc_unary", Median(Ratios(rounds.actor_call_rate, rounds.echo_rate)), "ratio");
  report("task_roundtrip_p50_over_grpc_unary_p50", Median(Ratios(rounds.task_p50_us, rounds.echo_p50_us)), "ratio");
}

void MeasureManySubmitters(const Reporter& report) {
  std::vector<double> single, multi;
  MeasureAlternately(kRounds, [&](bool many) {
    if (many) {
      multi.push_back(MultiClientTaskRate());
    } else {
      single.push_back(AsyncTaskRate());
    }
    std::fprintf(stderr, "%s: %.0f tasks/s\n", many ? "multi_client_tasks_async" : "single_client_tasks_async",
                 many ? multi.back() : single.back());
  });
  report("single_client_tasks_async", Median(single), "ops/s");
  report("multi_client_tasks_async", Median(multi), "tasks/s");
  report("multi_client_over_single_client_tasks_async", Median(Ratios(multi, single)), "ratio");
}

void MeasureActorCreation(const ForkFloor& fork_floor, const Reporter& report) {
  constexpr int kActors = 100;
  std::vector<double> forks, actors;
  MeasureAlternately(kRounds, [&](bool runtime) {
    if (runtime) {
      actors.push_back(ActorCreationRate(1));
    } else if (fork_floor.pid > 0) {
      forks.push_back(ForkFloorRate(fork_floor, kActors));
    }
  });
  report("actor_creation_per_s", Median(actors), "actors/s");
  if (forks.empty()) return;
  report("zygote_fork_floor_per_s", Median(forks), "forks/s");
  report("actor_creation_over_zygote_fork_floor", Median(Ratios(actors, forks)), "ratio");
}

}  // namespace

void MeasureAgainstFloors(int echo_port, const ForkFloor& fork_floor, const Reporter& report) {
  if (Wanted({"single_client_tasks_sync", "task_roundtrip", "1_1_actor_calls_sync", "grpc_unary"})) {
    MeasureSyncCalls(echo_port, report);
  }
  if (Wanted({"single_client_tasks_async", "multi_client"})) MeasureManySubmitters(report);
  if (Wanted({"actor_creation", "zygote_fork_floor"})) MeasureActorCreation(fork_floor, report);
}

}  // namespace orrery::bench
