// WorkerStream against a real gRPC server whose worker ends each stream while the owner keeps
// sending. Writes start on the owner's own threads, outside gRPC's reactions; without a hold
// gRPC could destroy the call between a failed write and OnDone while the next write starts
// (a double free that ASan reports, seen in CI as a crash of an actor test that cuts streams).
#include "src/core_worker/worker_stream.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace orrery::core {
namespace {

// Reads one batch, answers it, and ends the stream with an error, as a dying worker would.
class EndingWorker final : public rpc::CoreWorkerService::Service {
 public:
  EndingWorker() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~EndingWorker() override { server_->Shutdown(); }

  grpc::Status PushTasks(grpc::ServerContext*, grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) override {
    rpc::TaskBatch batch;
    if (!stream->Read(&batch)) return grpc::Status::OK;
    rpc::ResultBatch results;
    for (const auto& task : batch.tasks()) results.add_results()->set_task_id(task.task_id());
    stream->Write(results);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker went away");
  }
  int port() const { return port_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST(WorkerStreamTest, AStreamTheWorkerEndsWhileTheOwnerKeepsSendingEndsOnceAndCleanly) {
  EndingWorker worker;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(worker.port()), grpc::InsecureChannelCredentials());
  auto stub = rpc::CoreWorkerService::NewStub(channel);
  rpc::InFlight in_flight;
  rpc::TaskSpec task;
  task.set_task_id(std::string(24, 'x'));
  task.set_function_name("f");

  constexpr int kStreams = 1000;
  for (int i = 0; i < kStreams; ++i) {
    std::atomic<int> results{0};
    std::atomic<int> ends{0};
    absl::Notification done;
    grpc::Status status;
    WorkerStream::Callbacks callbacks;
    callbacks.on_results = [&](rpc::ResultBatch& batch) { results += batch.results_size(); };
    callbacks.on_done = [&](const grpc::Status& s) {
      status = s;
      ++ends;
      done.Notify();
    };
    auto stream = WorkerStream::Open(stub.get(), "", std::move(callbacks), in_flight.Acquire());
    // The owner's thread writes until the stream's end reaches it, racing the failed write.
    std::thread sender([&] {
      while (!done.HasBeenNotified()) stream->Send(task);
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30))) << "stream " << i << " never ended";
    sender.join();
    stream->Send(task);  // after the end: dropped, not a crash
    stream->Close();
    stream.reset();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_EQ(ends.load(), 1);
    EXPECT_GE(results.load(), 1);
  }
  in_flight.WaitForNone();
}

}  // namespace
}  // namespace orrery::core
