#include "src/core_worker/reference_listing_service.h"

#include "absl/strings/str_cat.h"

#include "src/rpc/status_conversion.h"

namespace orrery::core {

namespace {

constexpr int64_t kDefaultLimit = 10'000;

// Where this process has the value of `id`, and its size when the value is here.
void DescribeValue(const Value& value, rpc::ObjectReferenceInfo& info) {
  if (value == nullptr) {
    info.set_location(rpc::ObjectReferenceInfo::NOT_HERE);
  } else if (value->format == internal::Format::kInStore) {
    // The marker of a value in shared memory names the node holding the primary copy.
    info.set_location(rpc::ObjectReferenceInfo::SHARED_MEMORY);
    info.set_node_id(value->payload);
  } else {
    info.set_location(rpc::ObjectReferenceInfo::IN_PROCESS);
    info.set_size(static_cast<int64_t>(value->size()));
  }
}

}  // namespace

grpc::ServerUnaryReactor* ReferenceListingService::ListReferences(grpc::CallbackServerContext* context,
                                                                  const rpc::ListReferencesRequest* request,
                                                                  rpc::ListReferencesReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (absl::Status status = auth_.Check(*context); !status.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(status));
    return reactor;
  }
  if (request->limit() < 0) {
    reactor->Finish(rpc::ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("limit must not be negative, got ", request->limit()))));
    return reactor;
  }
  const ReferenceCounter* references = references_.load();
  if (references == nullptr) {
    reactor->Finish(rpc::ToGrpcStatus(absl::UnavailableError("this process is still starting")));
    return reactor;
  }
  const int64_t limit = request->limit() == 0 ? kDefaultLimit : request->limit();
  auto [holdings, total] = references->List(static_cast<size_t>(limit));
  reply->set_total(static_cast<int64_t>(total));
  for (const ReferenceCounter::Holding& holding : holdings) {
    rpc::ObjectReferenceInfo* info = reply->add_references();
    info->set_object_id(holding.id.Binary());
    info->set_owner_worker_id(holding.owner.worker_id());
    info->set_owner_address(absl::StrCat(holding.owner.ip(), ":", holding.owner.port()));
    info->set_owned(holding.owned);
    info->set_local_refs(holding.local);
    info->set_submitted_task_refs(holding.submitted);
    info->set_contained_in(holding.contained_in);
    info->set_borrowers(holding.borrowers);
    DescribeValue(store_.GetIfReady(holding.id), *info);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace orrery::core
