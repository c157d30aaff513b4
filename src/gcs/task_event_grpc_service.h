// TaskEventGrpcService: the thin gRPC adapter of TaskEventService, routing each call to the
// GcsTaskManager on the GCS event loop. No logic lives here.
#pragma once

#include "orrery/task_events.grpc.pb.h"
#include "src/gcs/gcs_task_manager.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class TaskEventGrpcService final : public rpc::TaskEventService::CallbackService {
 public:
  TaskEventGrpcService(rpc::ServerCalls& calls, GcsTaskManager& manager) : calls_(calls), manager_(manager) {}

  grpc::ServerUnaryReactor* AddTaskEvents(grpc::CallbackServerContext* context, const rpc::AddTaskEventsRequest* request,
                                          rpc::AddTaskEventsReply* reply) override;
  grpc::ServerUnaryReactor* GetTaskEvents(grpc::CallbackServerContext* context, const rpc::GetTaskEventsRequest* request,
                                          rpc::GetTaskEventsReply* reply) override;

 private:
  rpc::ServerCalls& calls_;
  GcsTaskManager& manager_;
};

}  // namespace orrery::gcs
