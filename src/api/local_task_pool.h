// LocalTaskPool: the threads that run local mode's normal tasks, `size` at once. A task that
// waits (Get or Wait inside it) lends its place, as a raylet lends a blocked worker's CPU: the
// next task starts on an idle thread or a new one, so nested tasks finish however deep they
// go; the waiting task takes its place back when it resumes (the pool may briefly run more).
// Threads: Post from any thread; Blocked/Unblocked on the pool's own; Stop once, from outside.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace orrery::api {

class LocalTaskPool {
 public:
  struct Work {
    std::function<void()> run;
    // Instead of `run`, for work Stop() finds not started (it fails the task's result).
    std::function<void()> drop;
  };

  explicit LocalTaskPool(int size);
  ~LocalTaskPool();
  LocalTaskPool(const LocalTaskPool&) = delete;
  LocalTaskPool& operator=(const LocalTaskPool&) = delete;

  // Queues `work`; after Stop() it is dropped at once.
  void Post(Work work);
  // Drops what has not started, then waits for the tasks running to return. Idempotent.
  void Stop();

  // The pool whose task this thread runs, or null.
  static LocalTaskPool* Current();
  // Around a wait inside a task on this pool.
  void Blocked();
  void Unblocked();

 private:
  void Loop();
  // Wakes or starts threads for the queued work that may run now.
  void DispatchLocked();

  const int size_;
  std::mutex mu_;
  std::condition_variable work_or_stop_;
  std::deque<Work> queue_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  // Tasks running and not blocked: at most size_ start.
  int active_ = 0;
  bool stopped_ = false;
};

}  // namespace orrery::api
