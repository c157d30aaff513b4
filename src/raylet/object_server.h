// ObjectServer: hands this node's objects to other nodes and frees the copies owners let go of.
//
// A reader on another node pulls an object with ReadObject: a server stream of chunks read
// straight out of the shared-memory region. The server is one more client of the node's store,
// like a worker: it holds a reference to the object while the stream is open, so the object can
// be neither evicted nor spilled under it.
//
// Threading: opening an object may wait on the store (an object spilled to disk is restored
// first), so it runs on the server's own loop, never on a gRPC thread or the raylet's loop.
// Chunks are built on gRPC threads as each write completes: one chunk in flight per stream,
// which bounds the memory a stream holds to one chunk plus gRPC's flow-control window.
#pragma once

#include <cstdint>
#include <memory>

#include "grpcpp/support/server_callback.h"
#include "orrery/node_manager.pb.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/object_store/store_client.h"

namespace orrery::raylet {

class ObjectServer {
 public:
  // `chunk_bytes`: data bytes per chunk (RpcOptions::ChunkBytes()).
  ObjectServer(std::shared_ptr<object_store::StoreClient> store, NodeId node, int64_t chunk_bytes);
  ~ObjectServer();
  ObjectServer(const ObjectServer&) = delete;
  ObjectServer& operator=(const ObjectServer&) = delete;

  // Starts a stream of the object's data from request.offset. Errors end the stream: NOT_FOUND
  // (not in this node's store), INVALID_ARGUMENT (malformed id), OUT_OF_RANGE (offset past the end).
  grpc::ServerWriteReactor<rpc::ObjectChunk>* Read(const rpc::ReadObjectRequest& request);
  // A stream refused before it starts (a wrong token).
  static grpc::ServerWriteReactor<rpc::ObjectChunk>* Refuse(const absl::Status& status);
  // Deletes this node's copies (once no reader holds them). Malformed ids are skipped.
  void Free(const rpc::FreeObjectsRequest& request);

 private:
  const std::shared_ptr<object_store::StoreClient> store_;
  const NodeId node_;
  const int64_t chunk_bytes_;
  std::shared_ptr<EventLoop> loop_;
};

}  // namespace orrery::raylet
