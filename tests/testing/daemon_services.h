// Every gRPC service of Orrery's protos, and which daemon serves it: what the authentication
// matrix (tests/integration/auth_matrix_test.cc) and the daemon_services fuzz target
// (tests/fuzz/fuzz_daemon_services.cc) walk, so that a method added later is in both.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "orrery/core_worker.pb.h"
#include "orrery/gcs.pb.h"
#include "orrery/job_submission.pb.h"
#include "orrery/log_service.pb.h"
#include "orrery/memory.pb.h"
#include "orrery/node_manager.pb.h"
#include "orrery/placement_group.pb.h"
#include "orrery/task_events.pb.h"

namespace orrery::testing {

// One message of each proto file is enough to find all of its services.
inline std::vector<const google::protobuf::ServiceDescriptor*> AllServices() {
  const google::protobuf::FileDescriptor* files[] = {
      rpc::GetWorkerInfoRequest::descriptor()->file(),  rpc::RegisterNodeRequest::descriptor()->file(),
      rpc::SubmitJobRequest::descriptor()->file(),      rpc::ReadLogRequest::descriptor()->file(),
      rpc::GetNodeMemoryRequest::descriptor()->file(),  rpc::HealthCheckRequest::descriptor()->file(),
      rpc::PrepareBundlesRequest::descriptor()->file(), rpc::AddTaskEventsRequest::descriptor()->file(),
  };
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const auto* file : files) {
    for (int i = 0; i < file->service_count(); ++i) services.push_back(file->service(i));
  }
  return services;
}

inline std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const auto* service : AllServices()) {
    for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i));
  }
  return methods;
}

// gRPC's path of a method: "/orrery.rpc.GcsService/KvPut".
inline std::string MethodPath(const google::protobuf::MethodDescriptor& method) {
  return "/" + method.service()->full_name() + "/" + method.name();
}

enum class Daemon { kGcs, kRaylet, kCoreWorker };

// Which process serves `service`; nullopt for one not listed here yet.
inline std::optional<Daemon> DaemonOf(const google::protobuf::ServiceDescriptor& service) {
  const std::string& name = service.name();
  if (name == "GcsService" || name == "PlacementGroupService" || name == "TaskEventService" ||
      name == "JobSubmissionService") {
    return Daemon::kGcs;
  }
  if (name == "NodeManagerService" || name == "BundleService" || name == "LogService" ||
      name == "NodeMemoryService") {
    return Daemon::kRaylet;
  }
  if (name == "CoreWorkerService" || name == "ObjectReferenceService") return Daemon::kCoreWorker;
  return std::nullopt;
}

}  // namespace orrery::testing
