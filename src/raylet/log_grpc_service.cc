#include "src/raylet/log_grpc_service.h"

#include "boost/asio/post.hpp"
#include "src/common/log_files.h"

namespace orrery::raylet {

grpc::ServerUnaryReactor* LogGrpcService::ListLogs(grpc::CallbackServerContext* context,
                                                   const rpc::ListLogsRequest* request, rpc::ListLogsReply* reply) {
  return calls_.Unary(context, request, reply,
                      [this](const rpc::ListLogsRequest& q, rpc::ListLogsReply* r, rpc::ReplyCallback done) {
                        // `done` keeps the request and reply alive until it is called.
                        boost::asio::post(reads_, [this, &q, r, done = std::move(done)] {
                          auto files = ListLogFiles(logs_dir_, q.prefix());
                          if (!files.ok()) return done(files.status());
                          r->set_node_id(node_id_.Binary());
                          for (auto& file : *files) *r->add_files() = std::move(file);
                          done(absl::OkStatus());
                        });
                      });
}

grpc::ServerUnaryReactor* LogGrpcService::ReadLog(grpc::CallbackServerContext* context,
                                                  const rpc::ReadLogRequest* request, rpc::ReadLogReply* reply) {
  return calls_.Unary(context, request, reply,
                      [this](const rpc::ReadLogRequest& q, rpc::ReadLogReply* r, rpc::ReplyCallback done) {
                        boost::asio::post(reads_, [this, &q, r, done = std::move(done)] {
                          auto piece = ReadLogFile(logs_dir_, q);
                          if (!piece.ok()) return done(piece.status());
                          *r = std::move(*piece);
                          done(absl::OkStatus());
                        });
                      });
}

}  // namespace orrery::raylet
