// orrery-object-pull-bench: one 1 GiB object pulled between two object stores of this process
// over the object data socket on loopback (the raylet's ObjectServer, the worker's ObjectPuller),
// with mutual TLS and plain, in alternating runs, so the cost of TLS is read off one run. The
// cluster figure (object_transfer_1gib_s in orrery-microbench) cannot take TLS until the
// daemons are given certificates. Prints one JSON object per line, as orrery-microbench does.
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "src/core_worker/object_puller.h"
#include "src/object_store/store_server.h"
#include "src/raylet/object_server.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_socket.h"

namespace orrery {
namespace {

constexpr uint64_t kGiB = 1ULL << 30;
constexpr int kRuns = 5;
constexpr char kToken[] = "bench-token";

void Report(const std::string& name, double value, const std::string& unit) {
  std::printf("{\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
}

void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "orrery-object-pull-bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

std::shared_ptr<const rpc::TlsConfig> NodeTls(const rpc::CertificateAuthority& ca, const std::string& name) {
  auto csr = rpc::MakeKeyAndCsr(name);
  if (!csr.ok()) Fail("making a key", csr.status());
  auto cert = rpc::IssueCertificate(ca, csr->csr_pem, name, 24 * 3600);
  if (!cert.ok()) Fail("issuing a certificate", cert.status());
  return std::make_shared<const rpc::TlsConfig>(rpc::TlsConfig{ca.cert_pem, *cert, csr->key_pem});
}

// Whether this host's kernel takes over TLS encryption: a handshake over a socket pair.
bool KernelTlsSends(const rpc::TlsConfig& server_tls, const rpc::TlsConfig& client_tls) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return false;
  auto server_context = rpc::TlsContext::Create(server_tls, rpc::TlsContext::Side::kServer);
  auto client_context = rpc::TlsContext::Create(client_tls, rpc::TlsContext::Side::kClient);
  bool ktls = false;
  std::thread client([&] { auto tls = rpc::TlsSocket::Connect(fds[1], **client_context, "client", 5'000); });
  auto server = rpc::TlsSocket::Accept(fds[0], **server_context, "server", 5'000, std::nullopt);
  client.join();
  ktls = server.ok() && (*server)->kernel_tls_send();
  server = absl::CancelledError();
  close(fds[0]);
  close(fds[1]);
  return ktls;
}

struct Node {
  NodeId id = NodeId::FromRandom();
  std::unique_ptr<object_store::StoreServer> server;
  std::shared_ptr<object_store::StoreClient> client;
};

void StartStore(const std::string& root, Node* node) {
  object_store::StoreServerOptions options;
  options.socket_path = root + "/" + node->id.Hex().substr(0, 8) + ".sock";
  options.capacity = 3 * kGiB / 2;
  auto server = object_store::StoreServer::Start(options);
  if (!server.ok()) Fail("starting a store", server.status());
  node->server = std::move(*server);
  auto client = object_store::StoreClient::Connect(options.socket_path);
  if (!client.ok()) Fail("connecting to a store", client.status());
  node->client = *client;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Main() {
  char root[] = "/tmp/opb-XXXXXX";
  if (mkdtemp(root) == nullptr) return 1;
  auto ca = rpc::CreateClusterCa();
  if (!ca.ok()) Fail("making a CA", ca.status());
  auto holder_tls = NodeTls(*ca, "node-holder");
  auto reader_tls = NodeTls(*ca, "node-reader");

  Node holder, reader;
  StartStore(root, &holder);
  StartStore(root, &reader);
  ObjectId id = ObjectIdOf(TaskId::FromRandom(), 1);
  auto object = holder.client->Create(id, kGiB, 0, /*primary=*/true, 0);
  if (!object.ok()) Fail("creating the object", object.status());
  for (uint64_t i = 0; i < kGiB; i += 4096) (*object)->data[i] = static_cast<uint8_t>(i >> 12);
  if (auto sealed = holder.client->Seal(**object, /*release=*/true); !sealed.ok()) Fail("sealing", sealed);

  // One server and one puller per mode, on the same stores.
  std::unique_ptr<raylet::ObjectServer> servers[2];
  std::unique_ptr<core::ObjectPuller> pullers[2];
  for (int tls = 0; tls < 2; ++tls) {
    raylet::ObjectServer::Options options;
    options.node = holder.id;
    options.host = "127.0.0.1";
    options.token = kToken;
    if (tls) options.tls = holder_tls;
    auto server = raylet::ObjectServer::Start(holder.client, options);
    if (!server.ok()) Fail("starting an object server", server.status());
    servers[tls] = std::move(*server);
    core::ObjectPuller::Options puller;
    puller.local_node = reader.id;
    puller.token = kToken;
    if (tls) puller.tls = reader_tls;
    int port = servers[tls]->port();
    pullers[tls] = std::make_unique<core::ObjectPuller>(
        puller, reader.client,
        [port](const NodeId&) -> absl::StatusOr<HostPort> {
          return HostPort{"127.0.0.1", port};
        },
        nullptr);
  }
  // Seconds to pull the object into the reader's store (the connection and handshake included);
  // the copy is deleted afterwards, for the next run.
  auto pull = [&](int tls) {
    auto start = std::chrono::steady_clock::now();
    absl::Status status = pullers[tls]->Pull(id, {holder.id}, 60'000);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) Fail(tls ? "pulling with TLS" : "pulling plain", status);
    (void)reader.client->Delete({id});
    return seconds;
  };
  pull(0);  // warm up: the reader's pages of the region are touched once
  pull(1);
  std::vector<double> plain, tls;
  for (int run = 0; run < kRuns; ++run) {
    // Alternating which goes first, so neither always runs on a warmer machine.
    if (run % 2 == 0) {
      plain.push_back(pull(0));
      tls.push_back(pull(1));
    } else {
      tls.push_back(pull(1));
      plain.push_back(pull(0));
    }
  }
  double tls_s = Median(tls), plain_s = Median(plain);
  Report("object_pull_1gib_s", tls_s, "s");
  Report("object_pull_1gib_s_plain", plain_s, "s");
  Report("object_pull_tls_gigabytes", static_cast<double>(kGiB) / 1e9 / tls_s, "GB/s");
  Report("object_pull_plain_gigabytes", static_cast<double>(kGiB) / 1e9 / plain_s, "GB/s");
  Report("object_pull_tls_over_plain", plain_s / tls_s, "ratio");
  Report("object_pull_kernel_tls", KernelTlsSends(*holder_tls, *reader_tls) ? 1 : 0, "bool");
  for (auto& server : servers) server->Stop();
  std::filesystem::remove_all(root);
  return 0;
}

}  // namespace
}  // namespace orrery

int main() { return orrery::Main(); }
