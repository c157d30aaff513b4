#include "grpc_floor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "orrery/bench/echo.grpc.pb.h"

namespace orrery::bench {

namespace {

using Clock = std::chrono::steady_clock;

class EchoService final : public Echo::Service {
 public:
  grpc::Status Unary(grpc::ServerContext*, const Ping* request, Ping* reply) override {
    *reply = *request;
    return grpc::Status::OK;
  }
  grpc::Status Stream(grpc::ServerContext*, grpc::ServerReaderWriter<Ping, Ping>* stream) override {
    Ping ping;
    while (stream->Read(&ping)) {
      if (!stream->Write(ping)) break;
    }
    return grpc::Status::OK;
  }
};

[[noreturn]] void Serve(int report_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  EchoService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (write(report_fd, &port, sizeof(port)) != sizeof(port)) std::_Exit(1);
  close(report_fd);
  server->Wait();
  std::_Exit(0);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

EchoServer StartEchoServer() {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Serve(fds[1]);
  }
  close(fds[1]);
  EchoServer server;
  server.pid = pid;
  if (read(fds[0], &server.port, sizeof(server.port)) != sizeof(server.port)) server.port = 0;
  close(fds[0]);
  return server;
}

void StopEchoServer(const EchoServer& server) {
  if (server.pid <= 0) return;
  kill(server.pid, SIGKILL);
  waitpid(server.pid, nullptr, 0);
}

namespace {

std::unique_ptr<Echo::Stub> EchoStub(int port) {
  return Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

}  // namespace

std::vector<double> UnaryEchoMicros(int port, int calls) {
  auto stub = EchoStub(port);
  Ping ping;
  ping.set_payload("x");
  std::vector<double> micros;
  micros.reserve(calls);
  for (int i = 0; i < calls + 100; ++i) {
    grpc::ClientContext context;
    Ping pong;
    auto start = Clock::now();
    stub->Unary(&context, ping, &pong);
    if (i >= 100) micros.push_back(Seconds(Clock::now() - start) * 1e6);
  }
  return micros;
}

void MeasureGrpcStreams(int port, const Reporter& report) {
  auto stub = EchoStub(port);
  Ping ping;
  ping.set_payload("x");
  constexpr int kCalls = 4000;

  // Stream ping-pong: one message in flight.
  {
    grpc::ClientContext context;
    auto stream = stub->Stream(&context);
    Ping pong;
    auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i) {
      stream->Write(ping);
      stream->Read(&pong);
    }
    report("grpc_stream_pingpong", kCalls / Seconds(Clock::now() - start), "ops/s");
    stream->WritesDone();
    stream->Finish();
  }

  // Pipelined stream: a writer and a reader at once.
  {
    constexpr int kMessages = 50'000;
    grpc::ClientContext context;
    auto stream = stub->Stream(&context);
    auto start = Clock::now();
    std::thread writer([&] {
      for (int i = 0; i < kMessages; ++i) stream->Write(ping);
      stream->WritesDone();
    });
    Ping pong;
    int received = 0;
    while (received < kMessages && stream->Read(&pong)) ++received;
    writer.join();
    report("grpc_stream_pipelined", received / Seconds(Clock::now() - start), "msgs/s");
    stream->Finish();
  }
}

}  // namespace orrery::bench
