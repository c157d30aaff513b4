// Raylet: builds, wires, starts and stops every part of orrery-raylet in one written order.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/common/session.h"
#include "src/gcs/client/gcs_client.h"
#include "src/gcs/client/gcs_subscriber.h"
#include "src/object_store/store_server.h"
#include "src/raylet/lease_holders.h"
#include "src/raylet/node_manager.h"
#include "src/raylet/raylet_metrics.h"
#include "src/raylet/bundle_grpc_service.h"
#include "src/raylet/log_grpc_service.h"
#include "src/raylet/memory_grpc_service.h"
#include "src/raylet/node_manager_grpc_service.h"
#include "src/raylet/object_server.h"
#include "src/raylet/raylet_config.h"
#include "src/rpc/grpc_server.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class Raylet {
 public:
  // `on_fatal` is called (from the loop) when the raylet must exit on its own.
  Raylet(RayletConfig config, std::string token, std::function<void(const std::string&)> on_fatal);
  ~Raylet();

  // Before Start: what the node trusts (for its reports) and how to renew its certificate at
  // once (NodeManager::Options::trust and renew_certificate_now).
  void SetCertificateHooks(std::function<std::optional<rpc::NodeTrust>()> trust, std::function<void()> renew_now) {
    trust_ = std::move(trust);
    renew_certificate_now_ = std::move(renew_now);
  }

  // Serves, registers with the GCS (retrying for gcs_connect_timeout_ms), subscribes.
  absl::Status Start();
  // Stops in order: open calls answered, workers ended, node unregistered, server, loop.
  void Stop(const std::string& reason);

  const NodeId& node_id() const { return node_id_; }
  int port() const { return server_ ? server_->port() : 0; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  const std::string& socket_path() const { return socket_path_; }
  const ResourceSet& total() const { return total_; }

 private:
  absl::Status ResolveResources();
  absl::Status RegisterWithGcs();
  // The shared-memory object store's size: the flag, or the host's share (see RayletConfig).
  absl::StatusOr<int64_t> ObjectStoreSize();
  absl::Status StartObjectStore();
  // Adds Ray's byte resources to the node's total: "memory" (--memory, or the host's available
  // memory less the store) and "object_store_memory" (the store's size).
  absl::Status AddMemoryResources(int64_t object_store_bytes);
  // Calls to the GCS while starting: retried for gcs_connect_timeout_ms; an unreachable GCS is
  // reported naming its address.
  rpc::CallOptions StartupCallOptions() const;
  absl::Status StartupCallStatus(const absl::Status& status, const std::string& doing) const;
  static constexpr int64_t kMinObjectStoreBytes = 16 << 20;

  RayletConfig config_;
  const std::string token_;
  std::function<void(const std::string&)> on_fatal_;
  const NodeId node_id_ = NodeId::FromRandom();
  SessionDir session_;
  std::string socket_path_;
  ResourceSet total_;
  std::vector<std::string> gpu_names_;
  std::function<std::optional<rpc::NodeTrust>()> trust_;
  std::function<void()> renew_certificate_now_;
  std::shared_ptr<EventLoop> loop_;
  std::unique_ptr<gcs::GrpcGcsClient> gcs_;
  std::unique_ptr<gcs::GcsSubscriber> subscriber_;
  // Before the node manager, whose lease manager calls it: destroyed after it.
  std::unique_ptr<LeaseHolders> lease_holders_;
  std::unique_ptr<NodeManager> node_manager_;
  // What the node's processes report of their own metrics: before the service that fills it
  // and the metrics server that reads it, so destroyed after both.
  metrics::UserMetricsTable user_metrics_;
  std::unique_ptr<rpc::ServerCalls> calls_;
  std::unique_ptr<NodeManagerGrpcService> service_;
  std::unique_ptr<BundleGrpcService> bundle_service_;
  std::unique_ptr<LogGrpcService> log_service_;
  std::unique_ptr<MemoryGrpcService> memory_service_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::unique_ptr<object_store::StoreServer> store_;
  std::unique_ptr<ObjectServer> objects_;
  std::unique_ptr<RayletMetrics> metrics_;  // null with --metrics=false
  std::atomic<bool> stopped_{false};
};

}  // namespace orrery::raylet
