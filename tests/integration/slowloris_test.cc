// Peers that have not authenticated (issue 23), against real daemons. A slowloris attack on the
// GCS and the raylet of a --tls=off cluster: a thousand connections to each, every one sending a
// byte a second of the request that opens a plain connection (the token gate's,
// src/rpc/token_gate.h). Each daemon closes every such connection within its handshake timeout
// (10 s; the whole request would take over 40 s), its memory grows by less than 64 MiB, and
// real clients are served meanwhile: a driver's tasks and `orrery status`. And a 200 MiB request
// without the token to the GCS, the raylet and a worker, with TLS and without: refused before it
// is read. Release pass only: 2,000 sockets and a 20 s attack, and 200 MiB sent six times.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "listening_sockets.h"
#include "raw_grpc.h"
#include "src/rpc/status_conversion.h"
#include "orrery/api.h"
#include "orrery/core_worker.pb.h"
#include "orrery/gcs.pb.h"
#include "orrery/node_manager.pb.h"
#include "temp_root.h"

// ---- remote code ----

int Echo(int x) { return x; }

// An actor keeps its worker, and the worker's port, for the test's length.
class Resident {
 public:
  static Resident* Create() { return new Resident(); }
  int Pid() { return static_cast<int>(getpid()); }
};

ORRERY_REMOTE(Echo, Resident::Create, &Resident::Pid);

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kConnectionsPerDaemon = 1000;
constexpr char kGateRequest[] = "CONNECT orrery HTTP/1.1\r\nHost: orrery\r\nx-orrery-token: not-the-cluster-token\r\n\r\n";
constexpr int64_t kMiB = 1 << 20;

// The resident memory of `pid`, in bytes (0 if it cannot be read).
int64_t RssBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

// One slow client: a non-blocking socket, how much of the preface it has sent, and when the
// daemon closed it.
struct SlowConnection {
  int fd = -1;
  size_t sent = 0;
  std::optional<Clock::duration> closed_after;
};

// Opens `n` connections to 127.0.0.1:port.
std::vector<SlowConnection> Connect(int port, int n) {
  std::vector<SlowConnection> connections;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      ADD_FAILURE() << "connection " << i << " to port " << port << ": " << strerror(errno);
      if (fd >= 0) close(fd);
      break;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    connections.push_back({fd});
  }
  return connections;
}

// Whether the daemon has closed the connection (what it sent, its settings, is read and dropped).
bool ClosedByPeer(int fd) {
  char buffer[4096];
  while (true) {
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got > 0) continue;
    return got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
}

// One second of the attack: each connection still open sends its next byte, unless closed.
void Tick(std::vector<SlowConnection>& connections, Clock::time_point start) {
  for (SlowConnection& connection : connections) {
    if (connection.closed_after.has_value()) continue;
    if (ClosedByPeer(connection.fd)) {
      connection.closed_after = Clock::now() - start;
      continue;
    }
    if (connection.sent < sizeof(kGateRequest) - 1 &&
        send(connection.fd, kGateRequest + connection.sent, 1, MSG_NOSIGNAL) == 1) {
      ++connection.sent;
    }
  }
}

int64_t OpenCount(const std::vector<SlowConnection>& connections) {
  return std::count_if(connections.begin(), connections.end(),
                       [](const SlowConnection& c) { return !c.closed_after.has_value(); });
}

int Port(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? 0 : std::stoi(address.substr(colon + 1));
}

// The raylet's gRPC address, as `orrery status` lists it.
std::string RayletAddress(const std::string& root, const std::string& node_id) {
  std::string status = orrery::testing::Cli("status --temp-dir " + root);
  std::string address = orrery::testing::Match(status, node_id + "\\s+(\\S+)");
  EXPECT_FALSE(address.empty()) << status;
  return address;
}

class SlowlorisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test holds 2,000 sockets of its own.
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < 4096) GTEST_SKIP() << "the hard open-file limit (" << limit.rlim_max << ") is too low";
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    root_ = orrery::testing::MakeTempRoot();
    // Plain TCP: a slow client meets the token gate (TLS handshakes have the same deadline).
    cluster_ = orrery::testing::StartHead(root_, "--num-cpus 1 --node-ip-address 127.0.0.1 --tls=off");
    orrery::testing::InitDriver(cluster_, root_, /*tls=*/false);
    started_ = true;
  }
  void TearDown() override {
    for (auto* daemon : {&gcs_attack_, &raylet_attack_}) {
      for (SlowConnection& connection : *daemon) close(connection.fd);
    }
    if (started_) orrery::testing::ShutdownDriverAndCluster(root_);
  }

  std::string root_;
  orrery::testing::CliCluster cluster_;
  bool started_ = false;
  std::vector<SlowConnection> gcs_attack_;
  std::vector<SlowConnection> raylet_attack_;
};

TEST_F(SlowlorisTest, SlowConnectionsAreClosedAtTheHandshakeTimeoutWhileRealClientsAreServed) {
  pid_t gcs = orrery::testing::DaemonPid(root_, "gcs");
  pid_t raylet = orrery::testing::RayletPid(root_, cluster_.node_id);
  ASSERT_GT(gcs, 0);
  ASSERT_GT(raylet, 0);
  int gcs_port = Port(cluster_.address);
  // The raylet's gRPC port (its other port is the object data socket, which authenticates first
  // on a deadline of its own: docs/design/object-transfer.md).
  int raylet_port = Port(RayletAddress(root_, cluster_.node_id));
  ASSERT_GT(raylet_port, 0);
  ASSERT_EQ(*orrery::Get(orrery::Task(Echo).Remote(1)), 1);  // a worker is up before the baseline

  int64_t gcs_rss_before = RssBytes(gcs);
  int64_t raylet_rss_before = RssBytes(raylet);
  Clock::time_point start = Clock::now();
  gcs_attack_ = Connect(gcs_port, kConnectionsPerDaemon);
  raylet_attack_ = Connect(raylet_port, kConnectionsPerDaemon);
  ASSERT_EQ(gcs_attack_.size(), size_t{kConnectionsPerDaemon});
  ASSERT_EQ(raylet_attack_.size(), size_t{kConnectionsPerDaemon});

  int64_t gcs_rss_peak = gcs_rss_before;
  int64_t raylet_rss_peak = raylet_rss_before;
  int served = 0;
  for (int second = 0; second < 20 && (OpenCount(gcs_attack_) > 0 || OpenCount(raylet_attack_) > 0); ++second) {
    Clock::time_point tick = Clock::now();
    Tick(gcs_attack_, start);
    Tick(raylet_attack_, start);
    gcs_rss_peak = std::max(gcs_rss_peak, RssBytes(gcs));
    raylet_rss_peak = std::max(raylet_rss_peak, RssBytes(raylet));
    // Real clients, each within a deadline: a task through the raylet, and the CLI through the GCS.
    auto echoed = orrery::Get(orrery::Task(Echo).Remote(second), 5'000);
    EXPECT_TRUE(echoed != nullptr && *echoed == second) << "a task at second " << second;
    orrery::testing::CliRun status = orrery::testing::RunCli("status --temp-dir " + root_);
    EXPECT_EQ(status.exit_code, 0) << "orrery status at second " << second << ": " << status.output;
    served += 2;
    std::this_thread::sleep_until(tick + std::chrono::seconds(1));
  }

  for (const auto* attack : {&gcs_attack_, &raylet_attack_}) {
    EXPECT_EQ(OpenCount(*attack), 0) << "slow connections still open after 20 s";
    Clock::duration longest{};
    for (const SlowConnection& connection : *attack) {
      longest = std::max(longest, connection.closed_after.value_or(longest));
    }
    // The 10 s handshake timeout, plus the one-second ticks that notice the close, plus slack
    // for a loaded machine.
    EXPECT_LE(std::chrono::duration_cast<std::chrono::seconds>(longest).count(), 14);
  }
  EXPECT_LT(gcs_rss_peak - gcs_rss_before, 64 * kMiB) << "GCS RSS grew from " << gcs_rss_before;
  EXPECT_LT(raylet_rss_peak - raylet_rss_before, 64 * kMiB) << "raylet RSS grew from " << raylet_rss_before;
  EXPECT_GE(served, 20);
}

// One call of `path` with `body` and `token` on `channel`; its status.
grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& path, const std::string& body,
                  const std::string& token) {
  grpc::GenericStub stub(channel);
  orrery::testing::OneRequestCall call;
  return call.Run(stub, path, token, body, std::chrono::seconds(60));
}

// The channels a daemon's port is tried with: a stranger's (no certificate with TLS; a plain
// gRPC client that skips the token gate without), which `stranger_code` refuses; a member's
// whose calls carry a wrong token (with TLS, the cluster's certificate; without, a wrong token
// at the gate); and a member's with the token.
struct Channels {
  std::shared_ptr<grpc::Channel> stranger;
  grpc::StatusCode stranger_code;
  std::shared_ptr<grpc::Channel> wrong_token;
  std::shared_ptr<grpc::Channel> member;
};

Channels TlsChannels(const std::string& root, const std::string& address, grpc::StatusCode stranger_code) {
  std::string ca = orrery::testing::ReadFile(root + "/tls/ca.crt");
  auto certified = orrery::testing::TlsChannel(address, ca, orrery::testing::ReadFile(root + "/tls/node.crt"),
                                               orrery::testing::ReadFile(root + "/tls/node.key"));
  return {orrery::testing::TlsChannel(address, ca, "", ""), stranger_code, certified, certified};
}

Channels PlainChannels(const std::string& address, const std::string& token) {
  return {orrery::testing::PlainChannel(address, std::nullopt), grpc::StatusCode::UNAVAILABLE,
          orrery::testing::PlainChannel(address, "not-the-token"), orrery::testing::PlainChannel(address, token)};
}

// A 200 MiB request from a stranger, and one with a wrong token, are refused without the daemon
// reading them (its memory grows by less than 64 MiB): with TLS in the handshake or when the
// call's metadata arrives, before the message; without TLS at the token gate, before HTTP/2.
// The member's channel with the token is served: the call was read and answered.
void ExpectRefusedUnread(const std::string& daemon, pid_t pid, const Channels& channels, const std::string& method,
                         const std::string& served_body, const std::string& token) {
  SCOPED_TRACE(daemon);
  ASSERT_GT(pid, 0);
  std::string request(200 * kMiB, 'x');
  int64_t rss_before = RssBytes(pid);
  EXPECT_EQ(Call(channels.stranger, method, request, token).error_code(), channels.stranger_code);
  // Refused for its token: UNAUTHENTICATED, or, at a token gate, the connection refused with a
  // 403 (which Orrery's clients report as UNAUTHENTICATED).
  grpc::Status wrong_token = Call(channels.wrong_token, method, request, "not-the-token");
  EXPECT_EQ(orrery::rpc::FromGrpcStatus(wrong_token).code(), absl::StatusCode::kUnauthenticated)
      << wrong_token.error_code() << ": " << wrong_token.error_message();
  int64_t rss_after = RssBytes(pid);
  EXPECT_LT(rss_after - rss_before, 64 * kMiB) << daemon << " RSS grew from " << rss_before;
  grpc::Status served = Call(channels.member, method, served_body, token);
  EXPECT_TRUE(served.ok()) << served.error_message();
}

// The GCS, the raylet and an actor's worker (every core worker serves the same server code) of
// a cluster started with `--tls=<tls>`.
void ExpectEveryDaemonRefusesUnread(const std::string& tls) {
  std::string root = orrery::testing::MakeTempRoot();
  orrery::testing::CliCluster cluster =
      orrery::testing::StartHead(root, "--num-cpus 1 --node-ip-address 127.0.0.1 --tls=" + tls);
  auto channels = [&](const std::string& address, grpc::StatusCode tls_stranger_code) {
    return tls == "on" ? TlsChannels(root, address, tls_stranger_code) : PlainChannels(address, cluster.token);
  };
  orrery::rpc::KvPutRequest put;
  put.set_namespace_("attack");
  put.set_key("k");
  put.set_value("small");
  // The GCS's TLS port serves its join method to a peer without a certificate, so it refuses
  // the others when their metadata arrives rather than in the handshake.
  ExpectRefusedUnread("the GCS", orrery::testing::DaemonPid(root, "gcs"),
                      channels(cluster.address, grpc::StatusCode::UNAUTHENTICATED), "/orrery.rpc.GcsService/KvPut",
                      put.SerializeAsString(), cluster.token);
  ExpectRefusedUnread("the raylet", orrery::testing::RayletPid(root, cluster.node_id),
                      channels(RayletAddress(root, cluster.node_id), grpc::StatusCode::UNAVAILABLE),
                      "/orrery.rpc.NodeManagerService/GetNodeStats",
                      orrery::rpc::GetNodeStatsRequest().SerializeAsString(), cluster.token);
  orrery::testing::InitDriver(cluster, root, /*tls=*/tls == "on");
  auto resident = orrery::Actor(Resident::Create).Remote();
  pid_t worker = *orrery::Get(resident.Task(&Resident::Pid).Remote());
  std::vector<orrery::testing::ListeningSocket> ports = orrery::testing::ListeningSocketsOf(worker);
  ASSERT_EQ(ports.size(), 1u) << "the worker's one TCP port";
  ExpectRefusedUnread("a worker", worker,
                      channels("127.0.0.1:" + std::to_string(ports[0].port), grpc::StatusCode::UNAVAILABLE),
                      "/orrery.rpc.CoreWorkerService/GetWorkerInfo",
                      orrery::rpc::GetWorkerInfoRequest().SerializeAsString(), cluster.token);
  orrery::testing::ShutdownDriverAndCluster(root);
}

TEST(UnauthenticatedRequest, A200MiBRequestWithoutTheTokenIsRefusedBeforeTheGcsTheRayletOrAWorkerReadsIt) {
  ExpectEveryDaemonRefusesUnread("on");
}

TEST(UnauthenticatedRequest, WithTlsOffA200MiBRequestWithoutTheTokenIsRefusedAtTheTokenGateUnread) {
  ExpectEveryDaemonRefusesUnread("off");
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
