#include "object_store_bench.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "orrery/api.h"
#include "rate.h"

namespace {

using orrery::bench::BestRate;
using orrery::bench::Clock;
using orrery::bench::Seconds;

// Ray's large value: np.zeros(100 * 1024 * 1024, int64), 800 MiB, counted as 0.8 GB.
constexpr size_t kLargeCount = 100 * 1024 * 1024;
constexpr double kLargeGb = 0.8;

// Ray's multi-client put: each of 10 tasks puts an 80 MiB array 10 times.
int PutTenTimes() {
  std::vector<int64_t> values(10 * 1024 * 1024);
  for (int i = 0; i < 10; ++i) orrery::Put(values);
  return 0;
}
ORRERY_REMOTE(PutTenTimes);


}  // namespace

namespace orrery::bench {

void MeasureLargeObjects(const Reporter& report) {
  std::vector<int64_t> large(kLargeCount, 1);
  // The first put writes into store pages never touched; later ones reuse the pages it left.
  report("single_client_put_gigabytes_cold", BestRate(kLargeGb, 1, [&] { orrery::Put(large); }), "GB/s");
  report("single_client_put_gigabytes", BestRate(kLargeGb, 3, [&] { orrery::Put(large); }), "GB/s");

  auto ref = orrery::Put(large);
  report("single_client_get_gigabytes", BestRate(kLargeGb, 3, [&] {
           std::shared_ptr<std::vector<int64_t>> value = orrery::Get(ref);
           if (value->size() != kLargeCount) std::abort();
         }),
         "GB/s");

  auto gib = orrery::Put(std::vector<int64_t>(1024 * 1024 * 1024 / 8, 2));
  double best_us = 1e12;
  for (int r = 0; r < 5; ++r) {
    auto start = Clock::now();
    orrery::ObjectView<int64_t> view = orrery::GetView(gib);
    best_us = std::min(best_us, Seconds(Clock::now() - start) * 1e6);
    if (view.size() != 1024 * 1024 * 1024 / 8) std::abort();
  }
  report("single_client_get_view_1gib_us", best_us, "us");

  report("multi_client_put_gigabytes", BestRate(8.0, 2, [] {
           std::vector<orrery::ObjectRef<int>> done;
           for (int i = 0; i < 10; ++i) done.push_back(orrery::Task(PutTenTimes).Remote());
           orrery::Get(done);
         }),
         "GB/s");
}

void MeasureStoreCalls(const Reporter& report) {
  std::vector<int64_t> large(kLargeCount, 1);
  report("single_client_put_gigabytes_prefault", BestRate(kLargeGb, 1, [&] { orrery::Put(large); }), "GB/s");

  constexpr int kCalls = 10'000;
  double puts = BestRate(kCalls, 3, [] {
    for (int i = 0; i < kCalls; ++i) orrery::Put(0);
  });
  report("single_client_put_calls_Plasma_Store", puts, "ops/s");
  auto ref = orrery::Put(0);
  double gets = BestRate(kCalls, 3, [&] {
    for (int i = 0; i < kCalls; ++i) orrery::Get(ref);
  });
  report("single_client_get_calls_Plasma_Store", gets, "ops/s");
}

void MeasureMemcpy(const Reporter& report) {
  constexpr size_t kBytes = kLargeCount * sizeof(int64_t);
  std::vector<char> source(kBytes, 1);
  double fresh = BestRate(kLargeGb, 3, [&] {
    // Pages the kernel has never handed out: each is faulted in by the copy.
    void* target = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    std::memcpy(target, source.data(), kBytes);
    munmap(target, kBytes);
  });
  report("memcpy_fresh_gigabytes", fresh, "GB/s");
  std::vector<char> target(kBytes, 0);
  double touched = BestRate(kLargeGb, 3, [&] { std::memcpy(target.data(), source.data(), kBytes); });
  report("memcpy_touched_gigabytes", touched, "GB/s");
}

}  // namespace orrery::bench
