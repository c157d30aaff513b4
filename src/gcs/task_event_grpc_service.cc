#include "src/gcs/task_event_grpc_service.h"

namespace orrery::gcs {

// A resent batch is folded in again: the same events give the same attempt, so it is
// idempotent (only a worker's dropped count could be counted twice, and that is an estimate).
grpc::ServerUnaryReactor* TaskEventGrpcService::AddTaskEvents(grpc::CallbackServerContext* context,
                                                              const rpc::AddTaskEventsRequest* request,
                                                              rpc::AddTaskEventsReply* reply) {
  return calls_.Unary(context, request, reply,
                      [this](const rpc::AddTaskEventsRequest& q, rpc::AddTaskEventsReply* r, rpc::ReplyCallback done) {
                        manager_.HandleAddTaskEvents(q, r, std::move(done));
                      });
}

grpc::ServerUnaryReactor* TaskEventGrpcService::GetTaskEvents(grpc::CallbackServerContext* context,
                                                              const rpc::GetTaskEventsRequest* request,
                                                              rpc::GetTaskEventsReply* reply) {
  return calls_.Unary(context, request, reply,
                      [this](const rpc::GetTaskEventsRequest& q, rpc::GetTaskEventsReply* r, rpc::ReplyCallback done) {
                        manager_.HandleGetTaskEvents(q, r, std::move(done));
                      });
}

}  // namespace orrery::gcs
