// LogGrpcService: the raylet's LogService, serving the files of its session's logs folder to
// `orrery logs` (src/common/log_files.h does the reading). A read touches the disk (a tail may
// scan 64 MiB back from a file's end), so it runs on a thread of its own, never on the raylet
// loop, which must answer leases and health checks meanwhile. One thread: reads queue rather
// than take more of the node's CPUs.
#pragma once

#include <string>

#include "boost/asio/thread_pool.hpp"
#include "orrery/log_service.grpc.pb.h"
#include "src/common/id.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class LogGrpcService final : public rpc::LogService::CallbackService {
 public:
  LogGrpcService(rpc::ServerCalls& calls, NodeId node_id, std::string logs_dir)
      : calls_(calls), node_id_(node_id), logs_dir_(std::move(logs_dir)) {}
  // Waits for the read in progress; reads not yet started are dropped (their calls are finished
  // by ServerCalls::Stop).
  ~LogGrpcService() { reads_.join(); }

  grpc::ServerUnaryReactor* ListLogs(grpc::CallbackServerContext* context, const rpc::ListLogsRequest* request,
                                     rpc::ListLogsReply* reply) override;
  grpc::ServerUnaryReactor* ReadLog(grpc::CallbackServerContext* context, const rpc::ReadLogRequest* request,
                                    rpc::ReadLogReply* reply) override;

 private:
  rpc::ServerCalls& calls_;
  const NodeId node_id_;
  const std::string logs_dir_;
  // Last: joined (in the destructor) while the members its reads use still exist.
  boost::asio::thread_pool reads_{1};
};

}  // namespace orrery::raylet
