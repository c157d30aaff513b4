// Estimates π by throwing random points at a square, split over remote functions.
//
//   ./monte_carlo_pi                 # starts a local cluster, runs, stops it
//   ./monte_carlo_pi --orrery_address=HOST:PORT   # or joins a running one
//
// Each task counts the points of its share that land inside the quarter circle; the driver sums
// the counts. This program is also its own worker program: workers run main() too, and
// orrery::Init() serves tasks in them instead of returning.
#include <cstdint>
#include <iostream>
#include <random>
#include <vector>

#include "orrery/api.h"
#include "orrery/progress.h"

uint64_t CountInside(uint64_t samples, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  uint64_t inside = 0;
  for (uint64_t i = 0; i < samples; ++i) {
    double x = unit(random), y = unit(random);
    inside += x * x + y * y <= 1.0;
  }
  return inside;
}
ORRERY_REMOTE(CountInside);

int main(int argc, char** argv) {
  orrery::Config config;
  orrery::Init(config, argc, argv);

  const uint64_t kTasks = 16, kSamplesPerTask = 2'000'000;
  std::vector<orrery::ObjectRef<uint64_t>> counts;
  for (uint64_t seed = 0; seed < kTasks; ++seed) {
    counts.push_back(orrery::Task(CountInside).Remote(kSamplesPerTask, seed));
  }
  orrery::Progress(counts, "counting");  // a bar on stderr while the tasks run
  uint64_t inside = 0;
  for (const auto& count : orrery::Get(counts)) inside += *count;
  double pi = 4.0 * static_cast<double>(inside) / static_cast<double>(kTasks * kSamplesPerTask);
  std::cout << "π ≈ " << pi << " from " << kTasks * kSamplesPerTask << " points in " << kTasks << " tasks\n";

  orrery::Shutdown();
  return 0;
}
