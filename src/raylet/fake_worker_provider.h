// FakeWorkerProvider: a WorkerProvider whose pops wait until the test answers them.
#pragma once

#include <deque>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "src/raylet/worker_provider.h"

namespace orrery::raylet {

class FakeWorkerProvider final : public WorkerProvider {
 public:
  explicit FakeWorkerProvider(boost::asio::io_context& io) : io_(io) {}

  void PopWorker(const WorkerKey& key, PopCallback done) override { pops.push_back({key, std::move(done)}); }
  void PushWorker(const std::shared_ptr<Worker>& worker) override {
    worker->state = Worker::State::kIdle;
    worker->lease_id = LeaseId::Nil();
    pushed.push_back(worker);
  }
  void KillWorker(const std::shared_ptr<Worker>& worker, const std::string& reason) override {
    worker->state = Worker::State::kExiting;
    killed.push_back(worker);
  }
  std::shared_ptr<Worker> Find(const WorkerId& worker_id) const override {
    for (const auto& worker : workers) {
      if (worker->id == worker_id) return worker;
    }
    return nullptr;
  }
  void SetLentCpus(int lent) override { lent_cpus = lent; }

  // Answers the oldest pop with a new worker of its key (pid `pid`).
  std::shared_ptr<Worker> AnswerPop(pid_t pid = 1000) {
    auto pop = std::move(pops.front());
    pops.pop_front();
    auto worker = std::make_shared<Worker>(WorkerId::FromRandom(), pop.key, rpc::WORKER, io_);
    worker->pid = pid;
    worker->port = 5000;
    worker->state = Worker::State::kLeased;
    workers.push_back(worker);
    pop.done(worker);
    return worker;
  }
  void FailPop(const absl::Status& status) {
    auto pop = std::move(pops.front());
    pops.pop_front();
    pop.done(status);
  }

  struct Pop {
    WorkerKey key;
    PopCallback done;
  };
  std::deque<Pop> pops;
  std::vector<std::shared_ptr<Worker>> workers;
  std::vector<std::shared_ptr<Worker>> pushed;
  std::vector<std::shared_ptr<Worker>> killed;
  int lent_cpus = 0;

 private:
  boost::asio::io_context& io_;
};

}  // namespace orrery::raylet
