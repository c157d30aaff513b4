// The transport floor for orrery-microbench: a bare gRPC echo between two processes, measured
// in the same run as the task figures so that they compare on the same machine and moment.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace orrery::bench {

using Reporter = std::function<void(const std::string& name, double value, const std::string& unit)>;

// Forks a process serving the echo on a free loopback port (call before any thread starts).
// It ends when this process does.
struct EchoServer {
  pid_t pid = -1;
  int port = 0;
};
EchoServer StartEchoServer();
void StopEchoServer(const EchoServer& server);

// `calls` unary echo calls one after another (after 100 to warm up): each call's latency, µs.
std::vector<double> UnaryEchoMicros(int port, int calls);

// grpc_stream_pingpong, grpc_stream_pipelined. (The unary figures are the floor that
// floor_bench.h measures alternately with the runtime's.)
void MeasureGrpcStreams(int port, const Reporter& report);

}  // namespace orrery::bench
