#include "src/gcs/placement_group_grpc_service.h"

namespace orrery::gcs {

using rpc::CallKind;

// Creation is idempotent by the group id the caller chose; removal of a removed group is OK.
#define ORRERY_PG_UNARY(Method)                                                                              \
  grpc::ServerUnaryReactor* PlacementGroupGrpcService::Method(grpc::CallbackServerContext* c,                \
                                                              const rpc::Method##Request* q,                 \
                                                              rpc::Method##Reply* r) {                       \
    return calls_.Unary(                                                                                     \
        c, q, r,                                                                                             \
        [this](const rpc::Method##Request& request, rpc::Method##Reply* reply, rpc::ReplyCallback done) {    \
          manager_.Handle##Method(request, reply, std::move(done));                                          \
        },                                                                                                   \
        CallKind::kIdempotent);                                                                              \
  }

ORRERY_PG_UNARY(CreatePlacementGroup)
ORRERY_PG_UNARY(RemovePlacementGroup)
ORRERY_PG_UNARY(GetPlacementGroup)
ORRERY_PG_UNARY(GetNamedPlacementGroup)
ORRERY_PG_UNARY(GetAllPlacementGroups)
ORRERY_PG_UNARY(WaitPlacementGroupReady)

#undef ORRERY_PG_UNARY

}  // namespace orrery::gcs
