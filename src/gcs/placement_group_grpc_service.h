// PlacementGroupGrpcService: the thin gRPC adapter of PlacementGroupService, routing each call
// to the GcsPlacementGroupManager on the GCS event loop. No logic lives here.
#pragma once

#include "orrery/placement_group.grpc.pb.h"
#include "src/gcs/gcs_placement_group_manager.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class PlacementGroupGrpcService final : public rpc::PlacementGroupService::CallbackService {
 public:
  PlacementGroupGrpcService(rpc::ServerCalls& calls, GcsPlacementGroupManager& manager)
      : calls_(calls), manager_(manager) {}

#define ORRERY_PG_METHOD(Method)                                                                    \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* c, const rpc::Method##Request* q, \
                                   rpc::Method##Reply* r) override;
  ORRERY_PG_METHOD(CreatePlacementGroup)
  ORRERY_PG_METHOD(RemovePlacementGroup)
  ORRERY_PG_METHOD(GetPlacementGroup)
  ORRERY_PG_METHOD(GetNamedPlacementGroup)
  ORRERY_PG_METHOD(GetAllPlacementGroups)
  ORRERY_PG_METHOD(WaitPlacementGroupReady)
#undef ORRERY_PG_METHOD

 private:
  rpc::ServerCalls& calls_;
  GcsPlacementGroupManager& manager_;
};

}  // namespace orrery::gcs
