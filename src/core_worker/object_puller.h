// ObjectPuller: copies an object from another node's store into this node's, for a reader here.
//
// The copy is pulled from one of the nodes that hold the object over its raylet's object data
// socket (ObjectServer), received straight into the shared-memory region and sealed only when
// complete, so no reader ever sees part of an object. A source that fails mid-way is left for the next one,
// which continues from the byte the first stopped at. The sources are tried in random order, so
// that many nodes reading one object (a broadcast) spread over the copies made so far.
//
// The copy is secondary (evictable) and owned by nobody here: its owner learns of it
// (`on_copied`) and frees it with the object. Thread-safe; blocks the calling thread.
//
// With `tls` set every source is spoken to in mutual TLS (the sources must have it too): the
// puller presents this node's certificate and accepts only a source whose certificate the
// cluster's CA signed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/common/id.h"
#include "src/common/net.h"
#include "src/object_store/store_client.h"
#include "src/rpc/tls_config.h"
#include "src/rpc/tls_socket.h"

namespace orrery::rpc {
class TlsContext;
}  // namespace orrery::rpc

namespace orrery::core {

class SourceConnection;

class ObjectPuller {
 public:
  struct Options {
    NodeId local_node;
    // How long creating the local copy may wait for room in a full store.
    int64_t full_wait_ms = 0;
    // Try the sources in random order (tests turn it off to choose the order).
    bool shuffle_sources = true;
    // The cluster token, which the sources check.
    std::string token;
    // A source silent this long is given up on (the pull goes on from another).
    int64_t io_timeout_ms = 30'000;
    // Null: plain TCP. Set: mutual TLS with the cluster's certificates.
    std::shared_ptr<const rpc::TlsConfig> tls;
  };
  // Where a node's object data socket is (from NodeDirectory::Find).
  using Resolver = std::function<absl::StatusOr<HostPort>(const NodeId& node)>;
  using CopiedCallback = std::function<void(const ObjectId& id, const NodeId& node)>;

  // Unusable TLS certificates fail every Pull, saying why.
  ObjectPuller(Options options, std::shared_ptr<object_store::StoreClient> store, Resolver resolve,
               CopiedCallback on_copied);

  // Returns once this node's store holds the object sealed: pulled here, or by another process
  // of this node that was pulling it already. Errors name every source tried and its failure
  // (NotFound when no source has it), or come from the local store (ResourceExhausted: full).
  absl::Status Pull(const ObjectId& id, std::vector<NodeId> sources, int64_t timeout_ms);

 private:
  // Receives from one source into `copy` (created once the sizes are known), from `*received` on.
  absl::Status PullFrom(const NodeId& source, const ObjectId& id, std::shared_ptr<object_store::MutableObject>& copy,
                        uint64_t* received);
  absl::Status Receive(SourceConnection& connection, const ObjectId& id,
                       std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received);
  // Another process of this node is pulling the object: wait for its copy.
  absl::Status AwaitOtherPull(const ObjectId& id, int64_t timeout_ms);

  const Options options_;
  const std::shared_ptr<object_store::StoreClient> store_;
  const Resolver resolve_;
  const CopiedCallback on_copied_;
  // Null without options_.tls; made again when the identity is renewed.
  std::unique_ptr<rpc::RenewableTlsContext> tls_;
};

}  // namespace orrery::core
