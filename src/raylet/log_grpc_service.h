// LogGrpcService: the raylet's LogService, serving the files of its session's logs folder to
// `orrery logs` (src/common/log_files.h does the reading). Reads are bounded (at most 4 MiB a
// call), so they run on the raylet loop like its other handlers.
#pragma once

#include <string>

#include "orrery/log_service.grpc.pb.h"
#include "src/common/id.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class LogGrpcService final : public rpc::LogService::CallbackService {
 public:
  LogGrpcService(rpc::ServerCalls& calls, NodeId node_id, std::string logs_dir)
      : calls_(calls), node_id_(node_id), logs_dir_(std::move(logs_dir)) {}

  grpc::ServerUnaryReactor* ListLogs(grpc::CallbackServerContext* context, const rpc::ListLogsRequest* request,
                                     rpc::ListLogsReply* reply) override;
  grpc::ServerUnaryReactor* ReadLog(grpc::CallbackServerContext* context, const rpc::ReadLogRequest* request,
                                    rpc::ReadLogReply* reply) override;

 private:
  rpc::ServerCalls& calls_;
  const NodeId node_id_;
  const std::string logs_dir_;
};

}  // namespace orrery::raylet
