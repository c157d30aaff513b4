// ObjectServer: hands this node's objects to other nodes, and frees the copies owners let go of.
//
// Another node pulls a copy over the object data socket, a plain TCP port of its own (announced
// in NodeInfo.object_data_port): the reader sends an ObjectDataRequest with the cluster token,
// and gets an ObjectDataHeader and then the data bytes, sent out of the shared-memory region's
// file with sendfile(), so they are never copied through the raylet. A plain socket because gRPC, with its copies of every message on both sides, reached
// a third of a raw TCP stream here (docs/design/object-transfer.md).
//
// The server is one more client of the node's store, like a worker: it holds a reference to an
// object while sending it, so the object can be neither evicted nor spilled under it.
//
// With `tls` set the socket speaks mutual TLS only (docs/design/object-transfer.md): the reader
// must complete the handshake with a certificate of the cluster's CA, and send its request, within
// `request_timeout_ms`; the framing inside the TLS stream is the plain socket's.
//
// Threading: one thread accepts; each connection is served on a thread of its own, at most
// `max_connections` at once (further readers wait in the listen backlog), so the memory in
// flight is bounded by that many sockets' buffers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "orrery/node_manager.pb.h"
#include "src/common/id.h"
#include "src/object_store/store_client.h"
#include "src/rpc/tls_config.h"
#include "src/rpc/tls_socket.h"

namespace orrery::rpc {
class TlsContext;
}  // namespace orrery::rpc

namespace orrery::raylet {

class ObjectServer {
 public:
  struct Options {
    NodeId node;
    std::string host = "0.0.0.0";
    int port = 0;  // 0: any free port
    std::string token;
    // A reader or a send silent this long ends the connection.
    int64_t io_timeout_ms = 30'000;
    // A reader must have sent its whole request (with the token; with TLS, after its
    // handshake) this soon after connecting: a peer that has not authenticated holds one of the
    // max_connections no longer.
    int64_t request_timeout_ms = 5'000;
    int max_connections = 16;
    // Null: plain TCP. Set: mutual TLS with the cluster's certificates, and a plain reader is
    // refused.
    std::shared_ptr<const rpc::TlsConfig> tls;
  };

  // Listens and starts accepting. A busy port is AlreadyExists naming it; unusable TLS
  // certificates are InvalidArgument.
  static absl::StatusOr<std::unique_ptr<ObjectServer>> Start(std::shared_ptr<object_store::StoreClient> store,
                                                             Options options);
  ~ObjectServer();
  ObjectServer(const ObjectServer&) = delete;
  ObjectServer& operator=(const ObjectServer&) = delete;

  int port() const { return port_; }
  // Bytes of objects sent whole to other nodes' pullers (a send cut short is not counted).
  uint64_t bytes_sent() const { return bytes_sent_.load(std::memory_order_relaxed); }
  // Stops accepting, ends the connections still open and joins their threads. Idempotent.
  void Stop();
  // Deletes this node's copies (once no reader holds them). Malformed ids are skipped.
  void Free(const rpc::FreeObjectsRequest& request);

 private:
  ObjectServer(std::shared_ptr<object_store::StoreClient> store, Options options, int listen_fd, int port);
  void AcceptLoop();
  void Serve(int fd);
  absl::Status ServePlain(int fd);
  absl::Status ServeTls(int fd);
  // The header (and the object held, when OK) for `request`.
  absl::Status CountSent(absl::Status sent, uint64_t bytes);
  rpc::ObjectDataHeader Open(const rpc::ObjectDataRequest& request,
                             std::shared_ptr<const object_store::ObjectBuffer>* object);

  const std::shared_ptr<object_store::StoreClient> store_;
  const Options options_;
  std::unique_ptr<rpc::RenewableTlsContext> tls_;  // null without options_.tls
  const int listen_fd_;
  const int port_;
  std::atomic<uint64_t> bytes_sent_{0};
  int stop_fd_ = -1;  // an eventfd the accept loop polls: written by Stop()
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable slot_freed_;
  bool stopping_ = false;
  // Open connections (fd -> its thread), and finished threads to join.
  absl::flat_hash_map<int, std::thread> connections_;
  std::vector<std::thread> finished_;
};

}  // namespace orrery::raylet
