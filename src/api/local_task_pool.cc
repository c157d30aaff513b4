#include "src/api/local_task_pool.h"

#include <algorithm>

namespace orrery::api {

namespace {
thread_local LocalTaskPool* current_pool = nullptr;
}  // namespace

LocalTaskPool::LocalTaskPool(int size) : size_(std::max(1, size)) {}

LocalTaskPool::~LocalTaskPool() { Stop(); }

LocalTaskPool* LocalTaskPool::Current() { return current_pool; }

void LocalTaskPool::Post(Work work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) {
      queue_.push_back(std::move(work));
      DispatchLocked();
      return;
    }
  }
  work.drop();
}

void LocalTaskPool::DispatchLocked() {
  if (stopped_) return;
  int runnable = std::min<int>(size_ - active_, static_cast<int>(queue_.size()));
  if (runnable <= 0) return;
  // Idle threads take what they can; new ones the rest.
  for (int i = idle_; i < runnable; ++i) threads_.emplace_back([this] { Loop(); });
  work_or_stop_.notify_all();
}

void LocalTaskPool::Loop() {
  current_pool = this;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    work_or_stop_.wait(lock, [this] { return stopped_ || (!queue_.empty() && active_ < size_); });
    --idle_;
    if (stopped_) return;
    Work work = std::move(queue_.front());
    queue_.pop_front();
    ++active_;
    lock.unlock();
    work.run();
    work = Work{};  // its captures go before the next task, outside the lock
    lock.lock();
    --active_;
    DispatchLocked();
  }
}

void LocalTaskPool::Blocked() {
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
  DispatchLocked();
}

void LocalTaskPool::Unblocked() {
  std::lock_guard<std::mutex> lock(mu_);
  ++active_;
}

void LocalTaskPool::Stop() {
  std::deque<Work> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    dropped.swap(queue_);
    threads.swap(threads_);
  }
  work_or_stop_.notify_all();
  // Failing their results may wake the running tasks that wait for them.
  for (Work& work : dropped) work.drop();
  for (std::thread& thread : threads) thread.join();
}

}  // namespace orrery::api
