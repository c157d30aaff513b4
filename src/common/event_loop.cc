#include "src/common/event_loop.h"

#include <deque>

#include "absl/synchronization/mutex.h"

namespace orrery::internal {

namespace {

// One thread, started when first needed, that destroys what it is given.
class Reaper {
 public:
  void Add(std::function<void()> work) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(work));
    if (started_) return;
    started_ = true;
    std::thread([this] { Run(); }).detach();
  }

 private:
  void Run() {
    for (;;) {
      std::deque<std::function<void()>> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](std::deque<std::function<void()>>* queue) { return !queue->empty(); }, &queue_));
        batch.swap(queue_);
      }
      batch.clear();  // the destructors run here, outside the lock
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

void DestroyOnReaperThread(std::function<void()> work) {
  // Never destroyed: its detached thread may still run while the process exits.
  static Reaper* reaper = new Reaper();
  reaper->Add(std::move(work));
}

}  // namespace orrery::internal
