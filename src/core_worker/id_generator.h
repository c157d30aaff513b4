// TaskIdGenerator: unique task ids without a syscall per task: a random per-process prefix and
// a counter. Thread-safe (atomic).
#pragma once

#include <atomic>
#include <cstring>

#include "src/common/id.h"
#include "src/common/random.h"

namespace orrery::core {

class TaskIdGenerator {
 public:
  TaskIdGenerator() : prefix_(RandomBytes(8)) {}

  TaskId Next() {
    uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed);
    std::string binary = prefix_;
    binary.resize(16);
    std::memcpy(binary.data() + 8, &n, sizeof(n));
    return TaskId::FromBinary(binary).value();
  }

 private:
  const std::string prefix_;
  std::atomic<uint64_t> counter_{1};
};

}  // namespace orrery::core
