#include "src/core_worker/object_puller.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/client_context.h"
#include "src/common/memory.h"
#include "src/common/status.h"
#include "src/rpc/status_conversion.h"

namespace orrery::core {

absl::Status ObjectPuller::Pull(const ObjectId& id, std::vector<NodeId> sources, int64_t timeout_ms) {
  sources.erase(std::remove(sources.begin(), sources.end(), options_.local_node), sources.end());
  if (options_.shuffle_sources) {
    thread_local std::minstd_rand random(std::random_device{}());
    std::shuffle(sources.begin(), sources.end(), random);
  }
  std::shared_ptr<object_store::MutableObject> copy;
  uint64_t received = 0;
  std::vector<std::string> failures;
  bool everywhere_absent = true;
  for (const NodeId& source : sources) {
    absl::Status status = PullFrom(source, id, timeout_ms, copy, &received);
    if (status.ok()) {
      if (absl::Status sealed = store_->Seal(*copy, /*release=*/true); !sealed.ok()) {
        return Annotate(sealed, absl::StrCat("sealing the copy of object ", id.Hex()));
      }
      if (on_copied_) on_copied_(id, options_.local_node);
      return absl::OkStatus();
    }
    if (status.code() == absl::StatusCode::kAlreadyExists) return AwaitOtherPull(id, timeout_ms);
    if (status.code() == absl::StatusCode::kResourceExhausted || status.code() == absl::StatusCode::kOutOfRange) {
      return status;  // this node's store cannot take it: no other source helps
    }
    everywhere_absent &= status.code() == absl::StatusCode::kNotFound;
    failures.push_back(absl::StrCat("node ", source.Hex(), ": ", status.message()));
  }
  std::string message =
      sources.empty()
          ? absl::StrCat("object ", id.Hex(), " has no copy on another node to pull to node ", options_.local_node.Hex())
          : absl::StrCat("object ", id.Hex(), " could not be copied to node ", options_.local_node.Hex(),
                         " from any node holding it (", absl::StrJoin(failures, "; "), ")");
  return everywhere_absent ? absl::NotFoundError(message) : absl::UnavailableError(message);
}

absl::Status ObjectPuller::PullFrom(const NodeId& source, const ObjectId& id, int64_t timeout_ms,
                                    std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received) {
  ORRERY_ASSIGN_OR_RETURN(NodeDirectory::Client raylet, resolve_(source));
  grpc::ClientContext context;
  raylet->client().PrepareContext(&context, timeout_ms);
  rpc::ReadObjectRequest request;
  request.set_object_id(id.Binary());
  request.set_offset(*received);
  auto reader = raylet->client().stub()->ReadObject(&context, request);
  rpc::ObjectChunk chunk;
  absl::Status bad_chunk;
  while (reader->Read(&chunk)) {
    if (copy == nullptr) {
      auto created = store_->Create(id, chunk.data_size(), chunk.metadata().size(), /*primary=*/false,
                                    options_.full_wait_ms);
      if (!created.ok()) {
        context.TryCancel();
        (void)reader->Finish();
        if (created.status().code() == absl::StatusCode::kAlreadyExists) return created.status();
        return Annotate(created.status(), absl::StrCat("storing a copy of object ", id.Hex()));
      }
      copy = std::move(*created);
      std::memcpy(copy->metadata, chunk.metadata().data(), chunk.metadata().size());
    }
    const std::string& data = chunk.data();
    if (chunk.data_size() != copy->data_size || chunk.offset() != *received ||
        data.size() > copy->data_size - *received) {
      bad_chunk = absl::DataLossError(absl::StrCat("sent ", data.size(), " bytes at offset ", chunk.offset(), " of ",
                                                   chunk.data_size(), " where ", copy->data_size - *received,
                                                   " bytes from offset ", *received, " were expected"));
      context.TryCancel();
      break;
    }
    ParallelCopy(copy->data + *received, data.data(), data.size());
    *received += data.size();
  }
  absl::Status finished = rpc::FromGrpcStatus(reader->Finish());
  if (!bad_chunk.ok()) return bad_chunk;
  if (!finished.ok()) return finished;
  if (copy == nullptr || *received != copy->data_size) {
    return absl::DataLossError(absl::StrCat("the stream ended after ", *received, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ObjectPuller::AwaitOtherPull(const ObjectId& id, int64_t timeout_ms) {
  auto buffers = store_->Get({id}, timeout_ms);
  if (!buffers.ok()) return buffers.status();
  if ((*buffers)[0] == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat("object ", id.Hex(), " is being copied to node ",
                                                    options_.local_node.Hex(), " by another process, and its copy did not arrive within ",
                                                    timeout_ms, " ms"));
  }
  return absl::OkStatus();
}

}  // namespace orrery::core
