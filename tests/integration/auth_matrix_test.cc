// The authentication matrix (issue 23): every method of every Orrery gRPC service, taken from the
// proto descriptors so that a method added later cannot be missed, is called on every port of
// a running cluster (the GCS, the raylet, a worker and the driver) with no token, with a wrong
// token and with the cluster's token. Only the last may be served. On a cluster started with
// --tls=on the calls carry the cluster's certificate (so that only the token differs), and a
// call with no certificate, or one of another CA, reaches no port at all. The Unix sockets (the
// raylet's, and the worker's and the driver's for the processes of their node) are called the
// same way, and refuse another user.
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "listening_sockets.h"
#include "raw_grpc.h"
#include "orrery/api.h"
#include "src/common/net.h"
#include "src/rpc/tls_certificates.h"
#include "temp_root.h"
#include "tests/testing/daemon_services.h"

// ---- remote code ----

int WorkerPid() { return static_cast<int>(getpid()); }

ORRERY_REMOTE(WorkerPid);

namespace {

namespace fs = std::filesystem;
using orrery::testing::AbstractUnixSocketsOf;
using orrery::testing::ListeningSocketsOf;
using orrery::testing::PlainChannel;
using orrery::testing::ReadFile;
using orrery::testing::TlsChannel;

using orrery::testing::AllServices;

// A call that is ended here and whose answer would end the process answering it.
bool EndsItsServer(const google::protobuf::MethodDescriptor* method) {
  return method->full_name() == "orrery.rpc.CoreWorkerService.Exit";
}

grpc::Status CallWithToken(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor* method,
                           const std::string& token) {
  orrery::testing::OneRequestCall call;
  return call.Run(stub, orrery::testing::MethodPath(*method), token);
}

constexpr const char* kAbstractScheme = "unix-abstract:";

bool IsUnix(const std::string& target) { return target.rfind(kAbstractScheme, 0) == 0; }

struct Endpoint {
  std::string name;  // "gcs", "raylet", ...
  std::string target;
};

bool ConnectsWithin2s(const std::shared_ptr<grpc::Channel>& channel) {
  return channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

// The cluster runs with --tls=<param>.
class AuthMatrixTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    root_ = orrery::testing::MakeTempRoot();
    cluster_ = orrery::testing::StartHead(root_, "--num-cpus 1 --node-ip-address 127.0.0.1 --tls=" + GetParam());
    orrery::testing::InitDriver(cluster_, root_, Tls());
  }
  bool Tls() const { return GetParam() == "on"; }
  std::string TlsFile(const char* name) const { return ReadFile(root_ + "/tls/" + name); }

  // A channel to `target` as a process of this cluster opens it (Unix sockets are never TLS;
  // plain TCP connections open with the token, for the port's token gate).
  std::shared_ptr<grpc::Channel> ClusterChannel(const std::string& target) const {
    if (IsUnix(target)) return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    if (!Tls()) return PlainChannel(target, cluster_.token);
    return TlsChannel(target, TlsFile(orrery::rpc::kCaCertFile), TlsFile(orrery::rpc::kNodeCertFile),
                      TlsFile(orrery::rpc::kNodeKeyFile));
  }
  void TearDown() override { orrery::testing::ShutdownDriverAndCluster(root_); }

  // Every TCP port of the GCS, the raylet, a worker and this driver, and every Unix socket in
  // the abstract namespace of the last two.
  std::vector<Endpoint> Endpoints() {
    std::map<std::string, pid_t> processes = {
        {"gcs", orrery::testing::DaemonPid(root_, "gcs")},
        {"raylet", orrery::testing::RayletPid(root_, cluster_.node_id)},
        {"worker", *orrery::Get(orrery::Task(WorkerPid).Remote())},
        {"driver", getpid()},
    };
    std::vector<Endpoint> endpoints;
    for (const auto& [name, pid] : processes) {
      EXPECT_GT(pid, 0) << name;
      for (const auto& socket : ListeningSocketsOf(pid)) {
        endpoints.push_back({name + ":" + std::to_string(socket.port), "127.0.0.1:" + std::to_string(socket.port)});
      }
      // The worker's and the driver's Unix socket for the processes of their node.
      for (const std::string& socket : AbstractUnixSocketsOf(pid)) {
        endpoints.push_back({name + ":" + socket, kAbstractScheme + socket.substr(1)});
      }
    }
    return endpoints;
  }

  std::string root_;
  orrery::testing::CliCluster cluster_;
};

TEST_P(AuthMatrixTest, EveryMethodOfEveryServiceIsServedOnlyWithTheClusterToken) {
  std::vector<const google::protobuf::ServiceDescriptor*> services = AllServices();
  std::set<std::string> served_somewhere;
  int refused_calls = 0;
  for (const Endpoint& endpoint : Endpoints()) {
    grpc::GenericStub stub(ClusterChannel(endpoint.target));
    // First every call without the token, so that no call made with it has changed anything yet.
    std::map<std::string, std::pair<grpc::StatusCode, grpc::StatusCode>> refused;
    for (const auto* service : services) {
      for (int i = 0; i < service->method_count(); ++i) {
        const auto* method = service->method(i);
        refused[method->full_name()] = {CallWithToken(stub, method, "").error_code(),
                                        CallWithToken(stub, method, "not-the-cluster-token").error_code()};
      }
    }
    for (const auto* service : services) {
      // Served here when a call with the token reaches one of its methods. (A port that is not
      // gRPC, the object data socket, serves none.)
      bool served = false;
      for (int i = 0; i < service->method_count() && !served; ++i) {
        const auto* method = service->method(i);
        if (EndsItsServer(method)) continue;
        grpc::StatusCode code = CallWithToken(stub, method, cluster_.token).error_code();
        EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << endpoint.name << " " << method->full_name();
        served = code != grpc::StatusCode::UNIMPLEMENTED && code != grpc::StatusCode::UNAVAILABLE;
      }
      if (!served) continue;
      served_somewhere.insert(service->full_name());
      for (int i = 0; i < service->method_count(); ++i) {
        const auto* method = service->method(i);
        auto [without_token, wrong_token] = refused[method->full_name()];
        EXPECT_EQ(without_token, grpc::StatusCode::UNAUTHENTICATED)
            << endpoint.name << " served " << method->full_name() << " without a token";
        EXPECT_EQ(wrong_token, grpc::StatusCode::UNAUTHENTICATED)
            << endpoint.name << " served " << method->full_name() << " with a wrong token";
        refused_calls += 2;
      }
    }
  }
  // Each service is served by some process of the cluster, so none went unchecked.
  for (const auto* service : services) {
    EXPECT_TRUE(served_somewhere.contains(service->full_name())) << service->full_name() << " was served nowhere";
  }
  EXPECT_GT(refused_calls, 100);
}

// With TLS, no port of the GCS, the raylet, a worker or the driver lets a peer without a
// certificate of the cluster's CA so much as connect: not a plain client, not one with a
// certificate of another CA, and not one without a certificate, except at the GCS, whose port
// serves such a peer SignNodeCertificate (a node joining) and nothing else. The cluster's
// certificate connects.
TEST_P(AuthMatrixTest, WithTlsOnlyACertificateOfTheClusterCaIsServedAndTheGcsServesAJoinWithout) {
  if (!Tls()) GTEST_SKIP() << "plain TCP";
  auto other_ca = orrery::rpc::CreateClusterCa();
  ASSERT_TRUE(other_ca.ok());
  auto other_key = orrery::rpc::MakeKeyAndCsr("intruder");
  ASSERT_TRUE(other_key.ok());
  auto other_cert = orrery::rpc::IssueCertificate(*other_ca, other_key->csr_pem, "intruder", 3600);
  ASSERT_TRUE(other_cert.ok());
  std::string ca = TlsFile(orrery::rpc::kCaCertFile);
  int grpc_ports = 0;
  for (const Endpoint& endpoint : Endpoints()) {
    // Unix sockets are plain (the next test checks who may connect to them). The object data
    // socket is not gRPC: only ports a cluster member connects to are counted.
    if (IsUnix(endpoint.target) || !ConnectsWithin2s(ClusterChannel(endpoint.target))) continue;
    ++grpc_ports;
    EXPECT_FALSE(ConnectsWithin2s(grpc::CreateChannel(endpoint.target, grpc::InsecureChannelCredentials())))
        << endpoint.name << " let a plain client connect";
    std::shared_ptr<grpc::Channel> no_certificate = TlsChannel(endpoint.target, ca, "", "");
    if (endpoint.name.rfind("gcs:", 0) == 0) {
      grpc::GenericStub stub(no_certificate);
      for (const auto* service : AllServices()) {
        for (int i = 0; i < service->method_count(); ++i) {
          const auto* method = service->method(i);
          bool joins = method->full_name() == "orrery.rpc.GcsService.SignNodeCertificate";
          grpc::StatusCode code = CallWithToken(stub, method, cluster_.token).error_code();
          EXPECT_EQ(code == grpc::StatusCode::UNAUTHENTICATED, !joins)
              << "the GCS answered " << method->full_name() << " to a peer without a certificate with " << code;
        }
      }
    } else {
      EXPECT_FALSE(ConnectsWithin2s(no_certificate)) << endpoint.name << " let a client without a certificate connect";
    }
    EXPECT_FALSE(ConnectsWithin2s(TlsChannel(endpoint.target, ca, *other_cert, other_key->key_pem)))
        << endpoint.name << " let a client with a certificate of another CA connect";
  }
  EXPECT_EQ(grpc_ports, 4) << "the GCS, the raylet, a worker and the driver";
}

// With --tls=off, no TCP port of the GCS, the raylet, a worker or the driver lets a peer connect
// unless its connection opens with the cluster token (the token gate, src/rpc/token_gate.h):
// not a plain gRPC client, not one with a wrong token. So a peer without the token never gets
// as far as a request (the first test checks the calls' own tokens past the gate).
TEST_P(AuthMatrixTest, WithTlsOffOnlyAConnectionThatOpensWithTheTokenIsServed) {
  if (Tls()) GTEST_SKIP() << "TLS";
  int grpc_ports = 0;
  for (const Endpoint& endpoint : Endpoints()) {
    if (IsUnix(endpoint.target) || !ConnectsWithin2s(ClusterChannel(endpoint.target))) continue;
    ++grpc_ports;
    EXPECT_FALSE(ConnectsWithin2s(PlainChannel(endpoint.target, std::nullopt)))
        << endpoint.name << " let a client connect without the token gate's request";
    EXPECT_FALSE(ConnectsWithin2s(PlainChannel(endpoint.target, "not-the-cluster-token")))
        << endpoint.name << " let a client with a wrong token connect";
    EXPECT_FALSE(ConnectsWithin2s(PlainChannel(endpoint.target, "")))
        << endpoint.name << " let a client without a token connect";
  }
  EXPECT_EQ(grpc_ports, 4) << "the GCS, the raylet, a worker and the driver";
}

// The raylet's Unix socket (for its workers and drivers) lies in a private folder and checks its
// peer's uid, and so do the worker's and the driver's in the abstract namespace (which has no
// file modes): another user cannot talk to them. Needs root, to become that other user.
TEST_P(AuthMatrixTest, TheUnixSocketsRefuseAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  std::vector<std::string> sockets;  // paths, or "@name" in the abstract namespace
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    if (entry.path().filename() == "raylet.sock") sockets.push_back(entry.path().string());
  }
  ASSERT_EQ(sockets.size(), 1u);
  for (pid_t pid : {*orrery::Get(orrery::Task(WorkerPid).Remote()), getpid()}) {
    std::vector<std::string> names = AbstractUnixSocketsOf(pid);
    EXPECT_EQ(names.size(), 1u) << pid;
    sockets.insert(sockets.end(), names.begin(), names.end());
  }
  for (const std::string& socket_name : sockets) {
    absl::StatusOr<orrery::UnixAddress> address = orrery::MakeUnixAddress(socket_name);
    ASSERT_TRUE(address.ok()) << address.status();
    // The child only makes system calls: it is a fork of a process with gRPC threads.
    pid_t child = fork();
    if (child == 0) {
      constexpr uid_t kNobody = 65534;
      if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(2);
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(fd, address->get(), address->length) != 0) _exit(errno == ENOENT ? 3 : 0);  // refused
      // Connected after all: the server must close it at once, unread.
      timeval timeout{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      char byte;
      _exit(read(fd, &byte, 1) == 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "another user's connection to " << socket_name
                                      << " was not refused (1: served, 3: no such socket)";
  }
}

INSTANTIATE_TEST_SUITE_P(Tls, AuthMatrixTest, ::testing::Values("off", "on"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return "tls_" + info.param; });

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
