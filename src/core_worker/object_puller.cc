#include "src/core_worker/object_puller.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/node_manager.pb.h"
#include "src/common/status.h"
#include "src/object_store/wire.h"

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
    absl::Status status = PullFrom(source, id, copy, &received);
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

absl::Status ObjectPuller::PullFrom(const NodeId& source, const ObjectId& id,
                                    std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received) {
  ORRERY_ASSIGN_OR_RETURN(HostPort address, resolve_(source));
  ORRERY_ASSIGN_OR_RETURN(int sock, ConnectTcp(address.host, address.port, options_.io_timeout_ms));
  absl::Status status = Receive(sock, source, id, copy, received);
  close(sock);
  return status;
}

absl::Status ObjectPuller::Receive(int sock, const NodeId& source, const ObjectId& id,
                                   std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received) {
  const std::string peer = "the object data socket of node " + source.Hex();
  rpc::ObjectDataRequest request;
  request.set_token(options_.token);
  request.set_object_id(id.Binary());
  request.set_offset(*received);
  ORRERY_RETURN_IF_ERROR(object_store::SendFrame(sock, request, peer));
  rpc::ObjectDataHeader header;
  ORRERY_RETURN_IF_ERROR(object_store::ReceiveFrame(sock, &header, peer));
  if (header.code() != 0) {
    auto code = static_cast<absl::StatusCode>(header.code());
    // Pull() reads these two as this node's store refusing the copy; from a source they mean
    // the source is of no use.
    if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kOutOfRange) {
      code = absl::StatusCode::kUnavailable;
    }
    return absl::Status(code, header.message());
  }
  if (copy == nullptr) {
    auto created = store_->Create(id, header.data_size(), header.metadata().size(), /*primary=*/false,
                                  options_.full_wait_ms);
    if (!created.ok()) {
      if (created.status().code() == absl::StatusCode::kAlreadyExists) return created.status();
      return Annotate(created.status(), absl::StrCat("storing a copy of object ", id.Hex()));
    }
    copy = std::move(*created);
    std::memcpy(copy->metadata, header.metadata().data(), header.metadata().size());
  } else if (header.data_size() != copy->data_size) {
    return absl::DataLossError(absl::StrCat("it holds ", header.data_size(), " bytes of data where another node held ",
                                            copy->data_size));
  }
  // Every byte that arrived counts, also when the source fails part-way: the next one goes on
  // from there.
  size_t arrived = 0;
  absl::Status status =
      object_store::ReceiveAll(sock, copy->data + *received, copy->data_size - *received, peer, &arrived);
  *received += arrived;
  return status;
}

absl::Status ObjectPuller::AwaitOtherPull(const ObjectId& id, int64_t timeout_ms) {
  auto buffers = store_->Get({id}, timeout_ms);
  if (!buffers.ok()) return buffers.status();
  if ((*buffers)[0] == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat("object ", id.Hex(), " is being copied to node ",
                                                    options_.local_node.Hex(), " by another process, and the copy ",
                                                    "did not arrive within ", timeout_ms, " ms"));
  }
  return absl::OkStatus();
}

}  // namespace orrery::core
