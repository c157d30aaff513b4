// A cluster started with `orrery start --head --tls=on` (issue 23): the head makes the cluster
// CA in <temp-dir>/tls, a raylet joined on the head's host takes its certificates from there,
// and the driver, the workers and the CLI speak mutual TLS with every daemon: tasks and actors
// on both nodes, a large object copied between them, `orrery status`. The ports themselves are
// checked in auth_matrix_test.cc.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <future>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "listening_sockets.h"
#include "raw_grpc.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "src/common/file_util.h"
#include "src/common/session.h"
#include "src/rpc/tls_certificates.h"
#include "temp_root.h"

// ---- remote code ----

namespace {
std::string Here() {
  const char* id = std::getenv("ORRERY_NODE_ID");
  return id == nullptr ? "" : id;
}
}  // namespace

std::string NodeOf() { return Here(); }

int64_t SumOf(std::vector<uint8_t> bytes) {
  int64_t sum = 0;
  for (uint8_t byte : bytes) sum += byte;
  return sum;
}

class Counter {
 public:
  static Counter* Create() { return new Counter(); }
  int Add(int by) { return total_ += by; }
  std::string Node() { return Here(); }
  int Pid() { return static_cast<int>(getpid()); }

 private:
  int total_ = 0;
};

ORRERY_REMOTE(NodeOf, SumOf, Counter::Create, &Counter::Add, &Counter::Node, &Counter::Pid);

namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

class TlsCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = orrery::testing::MakeTempRoot();
    cluster_ = orrery::testing::StartHead(root_, "--num-cpus 1 --node-ip-address 127.0.0.1 --tls=on");
    ASSERT_TRUE(orrery::testing::JoinRaylet(cluster_, "--resources '{\"second\": 2}'"));
    orrery::testing::InitDriver(cluster_, root_);
  }
  void TearDown() override { orrery::testing::ShutdownDriverAndCluster(root_); }

  std::string root_;
  orrery::testing::CliCluster cluster_;
};

TEST_F(TlsCluster, TasksActorsObjectsAndTheCliWorkAcrossNodes) {
  // The CA's key and the head's key are the user's alone.
  for (const char* key : {"ca.key", "node.key"}) {
    struct stat st;
    ASSERT_EQ(stat((root_ + "/tls/" + key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  EXPECT_FALSE(orrery::Get(orrery::Task(NodeOf).Remote())->empty());  // on either node
  std::string second = *orrery::Get(orrery::Task(NodeOf).SetResource("second", 1).Remote());
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, cluster_.node_id);

  // The actor holds one of the second node's two "second" for its life; SumOf below takes the other.
  auto counter = orrery::Actor(Counter::Create).SetResource("second", 1).Remote();
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Node).Remote()), second);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(2)), 2);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(3)), 5);

  // Put in the shared store of the driver's node, and read on both: on the other one a copy
  // comes over the object data socket.
  std::vector<uint8_t> bytes(4 << 20, 3);
  auto object = orrery::Put(bytes);
  for (const std::string& node : {second, cluster_.node_id}) {
    auto pinned = orrery::SchedulingStrategy::NodeAffinity(node);
    EXPECT_EQ(*orrery::Get(orrery::Task(SumOf).SetSchedulingStrategy(pinned).Remote(object)), int64_t{3} * (4 << 20))
        << node;
  }

  EXPECT_THAT(orrery::testing::AliveNodes(root_), SizeIs(2));
  std::string status = orrery::testing::Cli("status --temp-dir " + root_);
  EXPECT_THAT(status, HasSubstr(second)) << status;
}

// The processes of one node reach each other's workers over Unix sockets in the abstract
// namespace, with neither TCP nor TLS (worker_target.h, docs/security.md); a worker of another
// node is reached over its TCP port, with mutual TLS.
TEST_F(TlsCluster, ProcessesOfOneNodeCallEachOtherOverUnixSocketsAndOtherNodesOverTcp) {
  // The driver's node is either of the two (both raylets run on this host).
  std::string driver_node = orrery::GetNodeId();
  std::vector<std::string> nodes = orrery::testing::AliveNodes(root_);
  ASSERT_THAT(nodes, SizeIs(2));
  ASSERT_THAT(nodes, Contains(driver_node));
  std::string other_node = nodes[0] == driver_node ? nodes[1] : nodes[0];
  auto here = orrery::Actor(Counter::Create)
                  .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(driver_node))
                  .Remote();
  auto there = orrery::Actor(Counter::Create)
                   .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(other_node))
                   .Remote();
  pid_t here_pid = *orrery::Get(here.Task(&Counter::Pid).Remote());
  pid_t there_pid = *orrery::Get(there.Task(&Counter::Pid).Remote());
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(*orrery::Get(here.Task(&Counter::Add).Remote(1)), i);
    EXPECT_EQ(*orrery::Get(there.Task(&Counter::Add).Remote(1)), i);
  }
  auto tcp_port_of = [](pid_t pid) {
    std::vector<orrery::testing::ListeningSocket> ports = orrery::testing::ListeningSocketsOf(pid);
    EXPECT_EQ(ports.size(), 1u) << "the one TCP port of process " << pid;
    return ports.empty() ? -1 : ports[0].port;
  };
  std::vector<int> connected = orrery::testing::ConnectedTcpPortsOf(getpid());
  EXPECT_THAT(connected, Not(Contains(tcp_port_of(here_pid)))) << "the actor of the driver's node";
  EXPECT_THAT(connected, Contains(tcp_port_of(there_pid))) << "the actor of the other node";
  for (pid_t pid : {getpid(), here_pid, there_pid}) {
    EXPECT_THAT(orrery::testing::AbstractUnixSocketsOf(pid), ElementsAre(StartsWith("@orrery-worker-"))) << pid;
  }
}

// The head says how the cluster is secured when it starts; a client without the cluster's
// certificates is told why it cannot reach it.
TEST(TlsClusterStart, TheHeadNamesTheClusterCaAndAPlainClientIsToldWhatItLacks) {
  std::string root = orrery::testing::MakeTempRoot();
  orrery::testing::CliRun start = orrery::testing::RunCli(
      "start --head --port 0 --num-cpus 1 --node-ip-address 127.0.0.1 --tls=on --temp-dir " + root);
  EXPECT_EQ(start.exit_code, 0) << start.output;
  EXPECT_THAT(start.output, HasSubstr("TLS:         mutual TLS; cluster CA " + root + "/tls/ca.crt (sha256:"));
  std::string address = orrery::testing::Match(start.output, "GCS address: (\\S+)");
  std::string token = orrery::testing::Match(start.output, "--token (\\S+)");
  std::string elsewhere = orrery::testing::MakeTempRoot();  // no session: as on another host
  orrery::testing::CliRun plain =
      orrery::testing::RunCli("status --address " + address + " --token " + token + " --temp-dir " + elsewhere);
  EXPECT_EQ(plain.exit_code, 1) << plain.output;
  EXPECT_THAT(plain.output, HasSubstr("this process speaks plain TCP: a head started with --tls=on needs its TLS"));
  std::filesystem::remove_all(elsewhere);
  orrery::testing::ShutdownDriverAndCluster(root);  // no driver here: stops the cluster
}

// A driver's own cluster (Config::head_args, as orrery-microbench's TLS figures use it): Init()
// makes the CA under the temp root, the driver and its workers speak mutual TLS, and the ports
// refuse a plain client.
TEST(TlsDriverCluster, ADriversOwnClusterWithTlsOnServesItsWorkOverMutualTlsOnly) {
  std::string root = orrery::testing::MakeTempRoot();
  orrery::Config config;
  config.temp_dir = root;
  config.head_args = {"--num-cpus", "1", "--tls=on"};
  orrery::Init(config);
  EXPECT_FALSE(orrery::Get(orrery::Task(NodeOf).Remote())->empty());
  auto counter = orrery::Actor(Counter::Create).Remote();
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(2)), 2);

  auto session = orrery::LatestSession(root);
  ASSERT_TRUE(session.ok()) << session.status();
  auto record = orrery::ReadClusterRecord(*session);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->tls_dir, root + "/tls");
  std::string elsewhere = orrery::testing::MakeTempRoot();  // no session: plain TCP
  auto token = orrery::ReadToken(session->TokenFile());
  ASSERT_TRUE(token.ok()) << token.status();
  // Without the identity this driver's processes inherit (ORRERY_TLS_DIR), as on another host.
  orrery::testing::CliRun plain = orrery::testing::RunCli(
      "status --address " + record->gcs_address + " --token " + *token + " --temp-dir " + elsewhere,
      "env -u ORRERY_TLS_DIR");
  EXPECT_EQ(plain.exit_code, 1) << plain.output;
  EXPECT_THAT(plain.output, HasSubstr("this process speaks plain TCP"));
  orrery::Shutdown();
  std::filesystem::remove_all(elsewhere);
  std::filesystem::remove_all(root);
}

// Config::tls = false (docs/security.md, "A trusted network"): a driver speaks plain TCP only
// with a cluster whose daemons run with --tls=off, and a driver with TLS on refuses such a
// cluster; each refusal says which side is plain. A job submitted to a plain cluster runs.
class TlsDriverMode : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = orrery::testing::MakeTempRoot();
    plain_ = orrery::testing::StartHead(root_, "--num-cpus 1 --node-ip-address 127.0.0.1 --tls=off");
    ASSERT_FALSE(plain_.token.empty());
  }
  void TearDown() override {
    unsetenv("ORRERY_TLS");
    orrery::testing::ShutdownDriverAndCluster(root_);  // the driver is shut down already
  }

  orrery::Config JoinPlain() const {
    orrery::Config config;
    config.address = plain_.address;
    config.token = plain_.token;
    config.temp_dir = root_;
    return config;
  }

  // Init's error, or "" when it joined (and then it runs a task and shuts down).
  static std::string InitError(orrery::Config config) {
    try {
      orrery::Init(config);
    } catch (const orrery::OrreryException& e) {
      return e.what();
    }
    EXPECT_FALSE(orrery::Get(orrery::Task(NodeOf).Remote())->empty());
    orrery::Shutdown();
    return "";
  }

  std::string root_;
  orrery::testing::CliCluster plain_;
};

TEST_F(TlsDriverMode, ADriverJoinsAPlainClusterOnlyWhenItsTlsIsOff) {
  EXPECT_THAT(InitError(JoinPlain()),
              AllOf(HasSubstr("speaks plain TCP (its daemons run with --tls=off) and this driver requires TLS"),
                    HasSubstr("Config.tls = false")));
  orrery::Config off = JoinPlain();
  off.tls = false;
  EXPECT_EQ(InitError(off), "");
  // The operator's switch, without changing the program.
  setenv("ORRERY_TLS", "false", 1);
  EXPECT_EQ(InitError(JoinPlain()), "");
  setenv("ORRERY_TLS", "maybe", 1);
  EXPECT_THAT(InitError(JoinPlain()), HasSubstr("ORRERY_TLS: expected true or false, got 'maybe'"));
}

TEST_F(TlsDriverMode, ADriverWithTlsOffIsRefusedByATlsCluster) {
  std::string tls_root = orrery::testing::MakeTempRoot();
  orrery::testing::CliCluster tls = orrery::testing::StartHead(tls_root, "--num-cpus 1 --node-ip-address 127.0.0.1");
  orrery::Config config;
  config.address = tls.address;
  config.token = tls.token;
  config.temp_dir = tls_root;
  config.tls = false;
  EXPECT_THAT(InitError(config), HasSubstr("requires mutual TLS and this driver speaks plain TCP (Config.tls = false"));
  // A driver's own cluster runs as Config::tls says, and head_args may not say otherwise.
  orrery::Config own;
  own.temp_dir = tls_root;
  own.tls = false;
  own.head_args = {"--num-cpus", "1", "--tls=on"};
  EXPECT_THAT(InitError(own), HasSubstr("--tls=on contradicts Config.tls = false"));
  orrery::testing::ShutdownDriverAndCluster(tls_root);
}

TEST_F(TlsDriverMode, ADriversOwnClusterWithTlsOffHasNoCertificates) {
  std::string own_root = orrery::testing::MakeTempRoot();
  orrery::Config config;
  config.temp_dir = own_root;
  config.tls = false;
  config.head_args = {"--num-cpus", "1"};
  orrery::Init(config);
  EXPECT_FALSE(orrery::Get(orrery::Task(NodeOf).Remote())->empty());
  auto session = orrery::LatestSession(own_root);
  ASSERT_TRUE(session.ok()) << session.status();
  auto record = orrery::ReadClusterRecord(*session);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->tls_dir, "");
  EXPECT_FALSE(std::filesystem::exists(own_root + "/tls"));
  orrery::Shutdown();
  std::filesystem::remove_all(own_root);
}

TEST_F(TlsDriverMode, AJobSubmittedToAPlainClusterRunsItsDriver) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  orrery::testing::CliRun job = orrery::testing::RunCli("job submit --temp-dir " + root_ + " -- " + self + " driver");
  EXPECT_EQ(job.exit_code, 0) << job.output;
  EXPECT_THAT(job.output, HasSubstr("driver ran a task on node "));
}

// `orrery start --head --tls=on` prints the join line with the CA's fingerprint; run on another
// host (here: another temp root, with no session and no CA of the cluster), it joins a raylet
// with a certificate of its own (docs/security.md, "Joining").
class TlsJoin : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = orrery::testing::MakeTempRoot();
    far_ = orrery::testing::MakeTempRoot();
    orrery::testing::CliRun head = orrery::testing::RunCli(
        "start --head --port 0 --num-cpus 1 --node-ip-address 127.0.0.1 --tls=on --temp-dir " + root_);
    ASSERT_EQ(head.exit_code, 0) << head.output;
    head_node_ = orrery::testing::Match(head.output, "Node id: +([0-9a-f]+)");
    address_ = orrery::testing::Match(head.output, "GCS address: (\\S+)");
    token_ = orrery::testing::Match(head.output, "--token (\\S+)");
    // As printed, less the program's name.
    join_ = orrery::testing::Match(head.output, "orrery (start --address \\S+ --token \\S+ --ca-hash sha256:[0-9a-f]{64})");
    ASSERT_FALSE(join_.empty()) << head.output;
  }
  void TearDown() override {
    orrery::Shutdown();
    orrery::testing::Cli("stop --temp-dir " + far_);
    orrery::testing::Cli("stop --temp-dir " + root_);
    if (std::getenv("ORRERY_TEST_KEEP_DIR") != nullptr) return;
    std::filesystem::remove_all(far_);
    std::filesystem::remove_all(root_);
  }

  void InitDriverOnTheHeadsHost() {
    orrery::Config config;
    config.address = address_;
    config.token = token_;
    config.temp_dir = root_;
    orrery::Init(config);
    // The CLI runs for the far host started from here must not inherit this driver's identity.
    unsetenv("ORRERY_TLS_DIR");
  }

  // Runs the join line on the far host, with `args` after it.
  orrery::testing::CliRun JoinFar(const std::string& args = "") {
    return orrery::testing::RunCli(join_ + " --num-cpus 1 --node-ip-address 127.0.0.1 --temp-dir " + far_ + " " + args);
  }

  std::string root_;
  std::string far_;
  std::string head_node_;
  std::string address_;
  std::string token_;
  std::string join_;
};

TEST_F(TlsJoin, TheJoinLineRunElsewhereGivesTheNodeACertificateOfItsOwnAndWorkReachesIt) {
  orrery::testing::CliRun joined = JoinFar("--resources '{\"far\": 1}'");
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  std::string node = orrery::testing::Match(joined.output, "node ([0-9a-f]{32})");
  ASSERT_FALSE(node.empty()) << joined.output;

  // Its certificate names the node and was issued by the cluster CA; its key never left the
  // node's folder, and the far host never held the CA's key.
  std::string dir = far_ + "/session_latest/node_" + node + "/tls";
  auto cert = orrery::ReadFileToString(dir + "/node.crt");
  auto ca = orrery::ReadFileToString(root_ + "/tls/ca.crt");
  ASSERT_TRUE(cert.ok() && ca.ok()) << cert.status() << ca.status();
  auto info = orrery::rpc::ReadCertificateInfo(*cert);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, node);
  EXPECT_TRUE(orrery::rpc::VerifyCertificate(*ca, *cert).ok());
  struct stat st;
  ASSERT_EQ(stat((dir + "/node.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/ca.key"));

  // The CLI there speaks with the node's certificate, and a driver's task reaches the node.
  EXPECT_THAT(orrery::testing::AliveNodes(far_), ::testing::UnorderedElementsAre(head_node_, node));
  InitDriverOnTheHeadsHost();
  EXPECT_EQ(*orrery::Get(orrery::Task(NodeOf).SetResource("far", 1).Remote()), node);
}

TEST_F(TlsJoin, AWrongFingerprintOrTokenOrNoneStartsNothing) {
  std::string zeros = "sha256:" + std::string(64, '0');
  std::string wrong_hash = std::regex_replace(join_, std::regex("sha256:[0-9a-f]{64}"), zeros);
  orrery::testing::CliRun run = orrery::testing::RunCli(wrong_hash + " --node-ip-address 127.0.0.1 --temp-dir " + far_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("presented no CA certificate with the hash " + zeros));

  orrery::testing::CliRun wrong_token = orrery::testing::RunCli(
      std::regex_replace(join_, std::regex("--token \\S+"), "--token not-the-token") +
      " --node-ip-address 127.0.0.1 --temp-dir " + far_);
  EXPECT_EQ(wrong_token.exit_code, 1) << wrong_token.output;
  EXPECT_THAT(wrong_token.output, HasSubstr("wrong cluster token"));

  orrery::testing::CliRun no_hash = orrery::testing::RunCli("start --address " + address_ + " --token " + token_ +
                                                            " --node-ip-address 127.0.0.1 --temp-dir " + far_);
  EXPECT_EQ(no_hash.exit_code, 1) << no_hash.output;
  EXPECT_THAT(no_hash.output, HasSubstr("joins it from another host with --ca-hash"));
  EXPECT_THAT(orrery::testing::AliveNodes(root_), ::testing::ElementsAre(head_node_));
}

// A node declared dead: whoever holds its key (it may have been stolen with the host) is refused,
// though the certificate has not expired. The same line joins a new node there, whose
// certificate the host's CLI then uses.
// The status of GetWorkerInfo at `address` called with the identity in `tls_dir`.
grpc::Status CallWorkerWith(const std::string& address, const std::string& tls_dir, const std::string& token) {
  using orrery::testing::ReadFile;
  grpc::GenericStub stub(orrery::testing::TlsChannel(address, ReadFile(tls_dir + "/ca.crt"),
                                                     ReadFile(tls_dir + "/node.crt"), ReadFile(tls_dir + "/node.key")));
  return orrery::testing::OneRequestCall().Run(stub, "/orrery.rpc.CoreWorkerService/GetWorkerInfo", token);
}

TEST_F(TlsJoin, TheCertificateOfANodeDeclaredDeadOpensNothingAndTheLineJoinsANewNode) {
  orrery::testing::CliRun joined = JoinFar();
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  std::string node = orrery::testing::Match(joined.output, "node ([0-9a-f]{32})");
  std::string dead_dir = far_ + "/session_latest/node_" + node + "/tls";
  // A driver and a worker on the head's node, up before the death: they follow no node table.
  InitDriverOnTheHeadsHost();
  auto counter = orrery::Actor(Counter::Create)
                     .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(head_node_))
                     .Remote();
  std::vector<pid_t> beside_the_head = {getpid(), *orrery::Get(counter.Task(&Counter::Pid).Remote())};
  pid_t raylet = orrery::testing::RayletPid(far_, node);
  ASSERT_GT(raylet, 0);
  ASSERT_EQ(kill(raylet, SIGKILL), 0);
  ASSERT_TRUE(orrery::testing::Eventually(
      [&] { return orrery::testing::AliveNodes(root_) == std::vector<std::string>{head_node_}; }));
  // The far host's CLI still holds the node's certificate and key.
  orrery::testing::CliRun status = orrery::testing::RunCli("status --temp-dir " + far_);
  EXPECT_EQ(status.exit_code, 1) << status.output;
  EXPECT_THAT(status.output, AllOf(HasSubstr("refuses the certificate of node " + node),
                                   HasSubstr("declared that node dead")));
  // The head's raylet tells them in its TLS directory (refused_nodes): the driver's and the
  // worker's ports refuse the dead node's certificate as well, and serve the head's node's.
  std::string head_dir = root_ + "/session_latest/node_" + head_node_ + "/tls";
  for (pid_t pid : beside_the_head) {
    std::vector<orrery::testing::ListeningSocket> ports = orrery::testing::ListeningSocketsOf(pid);
    ASSERT_EQ(ports.size(), 1u) << "the one TCP port of process " << pid;
    std::string address = "127.0.0.1:" + std::to_string(ports[0].port);
    grpc::Status refused;
    EXPECT_TRUE(orrery::testing::Eventually([&] {
      refused = CallWorkerWith(address, dead_dir, token_);
      return refused.error_code() == grpc::StatusCode::UNAUTHENTICATED;
    })) << pid << ": " << refused.error_message();
    EXPECT_THAT(refused.error_message(), HasSubstr("declared that node dead")) << pid;
    EXPECT_TRUE(CallWorkerWith(address, head_dir, token_).ok()) << pid;
  }

  orrery::testing::CliRun again = JoinFar();
  ASSERT_EQ(again.exit_code, 0) << again.output;
  std::string successor = orrery::testing::Match(again.output, "node ([0-9a-f]{32})");
  EXPECT_NE(successor, node);
  EXPECT_THAT(orrery::testing::AliveNodes(far_), ::testing::UnorderedElementsAre(head_node_, successor));
}

// `orrery cert rotate-ca` on the head's host replaces the cluster CA while a driver's work goes
// on across both nodes (tasks, an actor, values copied over the object data socket): every
// phase is reached, nothing fails, and afterwards the head and the far node trust the new CA
// only, a certificate of the old one opens nothing, the old join line is refused and the one
// printed at the end joins. Only the head's certificate may start a rotation.
TEST_F(TlsJoin, TheCaRotatesUnderWorkThenOnlyTheNewCaIsTrustedAndItsJoinLineJoins) {
  using orrery::testing::ReadFile;
  orrery::testing::CliRun joined = JoinFar("--resources '{\"far\": 1}'");
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  std::string node = orrery::testing::Match(joined.output, "node ([0-9a-f]{32})");
  std::string far_dir = far_ + "/session_latest/node_" + node + "/tls";
  std::string old_hash = *orrery::rpc::CaFingerprint(ReadFile(root_ + "/tls/ca.crt"));
  std::string old_cert = ReadFile(far_dir + "/node.crt");
  std::string old_key = ReadFile(far_dir + "/node.key");

  orrery::testing::CliRun from_node = orrery::testing::RunCli("cert rotate-ca --temp-dir " + far_);
  EXPECT_EQ(from_node.exit_code, 1) << from_node.output;
  EXPECT_THAT(from_node.output, HasSubstr("only the head may rotate the cluster CA"));

  InitDriverOnTheHeadsHost();
  auto counter =
      orrery::Actor(Counter::Create).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(node)).Remote();
  int added = 0;
  auto work_once = [&] {
    constexpr int kTimeoutMs = 30'000;
    EXPECT_EQ(*orrery::Get(orrery::Task(NodeOf).SetResource("far", 1).Remote(), kTimeoutMs), node);
    std::vector<uint8_t> bytes(1 << 20, 3);
    EXPECT_EQ(*orrery::Get(orrery::Task(SumOf).SetResource("far", 1).Remote(orrery::Put(bytes)), kTimeoutMs),
              int64_t{3} << 20);
    EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1), kTimeoutMs), ++added);
  };
  // The CLI follows the rotation from its own thread; the work stays on this one.
  auto rotation = std::async(std::launch::async, [this] {
    return orrery::testing::RunCli("cert rotate-ca --timeout 120 --temp-dir " + root_);
  });
  int rounds = 0;
  while (rotation.wait_for(std::chrono::seconds(0)) != std::future_status::ready && !HasFailure()) {
    work_once();
    ++rounds;
  }
  orrery::testing::CliRun rotated = rotation.get();
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_THAT(rotated.output, AllOf(HasSubstr("replaces " + old_hash), HasSubstr("phase trust-new"),
                                    HasSubstr("phase sign-new"), HasSubstr("phase drop-old")));
  std::string new_hash = orrery::testing::Match(rotated.output, "Done: every node trusts only (sha256:[0-9a-f]{64})");
  ASSERT_FALSE(new_hash.empty()) << rotated.output;
  EXPECT_NE(new_hash, old_hash);
  EXPECT_GE(rounds, 3) << "the work went on through the rotation";
  work_once();  // and after it

  std::string new_ca = ReadFile(root_ + "/tls/ca.crt");
  EXPECT_EQ(*orrery::rpc::CaFingerprint(new_ca), new_hash);
  EXPECT_THAT(orrery::rpc::SplitCertificates(new_ca), SizeIs(1));
  EXPECT_EQ(ReadFile(far_dir + "/ca.crt"), new_ca);
  std::string new_cert = ReadFile(far_dir + "/node.crt");
  EXPECT_TRUE(orrery::rpc::VerifyCertificate(new_ca, new_cert).ok());
  grpc::GenericStub with_old(orrery::testing::TlsChannel(address_, new_ca, old_cert, old_key));
  EXPECT_FALSE(orrery::testing::OneRequestCall().Run(with_old, "/orrery.rpc.GcsService/GetAllNodes", token_).ok())
      << "a certificate of the old CA still opens the GCS";
  grpc::GenericStub with_new(orrery::testing::TlsChannel(address_, new_ca, new_cert, ReadFile(far_dir + "/node.key")));
  EXPECT_TRUE(orrery::testing::OneRequestCall().Run(with_new, "/orrery.rpc.GcsService/GetAllNodes", token_).ok());

  orrery::testing::CliRun old_line = JoinFar();
  EXPECT_EQ(old_line.exit_code, 1) << old_line.output;
  EXPECT_THAT(old_line.output, HasSubstr("presented no CA certificate with the hash " + old_hash));
  std::string new_line =
      orrery::testing::Match(rotated.output, "orrery (start --address \\S+ --token \\S+ --ca-hash sha256:[0-9a-f]{64})");
  orrery::testing::CliRun third =
      orrery::testing::RunCli(new_line + " --num-cpus 1 --node-ip-address 127.0.0.1 --temp-dir " + far_);
  EXPECT_EQ(third.exit_code, 0) << third.output;
  EXPECT_THAT(orrery::testing::AliveNodes(root_), SizeIs(3));
  orrery::testing::CliRun status = orrery::testing::RunCli("cert status --temp-dir " + root_);
  EXPECT_THAT(status.output, AllOf(HasSubstr("Signing CA:  " + new_hash), HasSubstr("none under way"))) << status.output;
}

orrery::rpc::CertificateInfo CertificateIn(const std::string& dir) {
  auto cert = orrery::ReadFileToString(dir + "/node.crt");
  if (!cert.ok()) return {};
  auto info = orrery::rpc::ReadCertificateInfo(*cert);
  return info.ok() ? *info : orrery::rpc::CertificateInfo{};
}

// Node certificates that live 24 s (ORRERY_NODE_CERTIFICATE_SECONDS on the head's GCS): each
// raylet renews its own at two thirds of its life (docs/security.md, "Renewal").
class TlsJoinShortCertificates : public TlsJoin {
 protected:
  void SetUp() override {
    setenv("ORRERY_NODE_CERTIFICATE_SECONDS", "24", /*overwrite=*/1);
    TlsJoin::SetUp();
    unsetenv("ORRERY_NODE_CERTIFICATE_SECONDS");
  }

  // Joins the far host's raylet (with one "far"): its node id, TLS folder and first certificate.
  void JoinFarNode() {
    orrery::testing::CliRun joined = JoinFar("--resources '{\"far\": 1}'");
    ASSERT_EQ(joined.exit_code, 0) << joined.output;
    node_ = orrery::testing::Match(joined.output, "node ([0-9a-f]{32})");
    dir_ = far_ + "/session_latest/node_" + node_ + "/tls";
    first_ = CertificateIn(dir_);
    ASSERT_EQ(first_.common_name, node_);
  }

  std::string node_;
  std::string dir_;
  orrery::rpc::CertificateInfo first_;
};

TEST_F(TlsJoinShortCertificates, ANodeRenewsItsCertificateAtTwoThirdsAndServesNewConnectionsPastTheFirstsExpiry) {
  ASSERT_NO_FATAL_FAILURE(JoinFarNode());
  EXPECT_NEAR(static_cast<double>(first_.not_after - std::time(nullptr)), 24.0, 4.0);

  // At two thirds of its life (16 s) the node has a new certificate, for a new key.
  auto first_key = orrery::ReadFileToString(dir_ + "/node.key");
  ASSERT_TRUE(orrery::testing::Eventually([&] { return CertificateIn(dir_).serial_hex != first_.serial_hex; }));
  orrery::rpc::CertificateInfo renewed = CertificateIn(dir_);
  EXPECT_EQ(renewed.common_name, node_);
  EXPECT_GT(renewed.not_after, first_.not_after);
  EXPECT_GE(std::time(nullptr), orrery::rpc::RenewAt(first_));
  EXPECT_NE(*orrery::ReadFileToString(dir_ + "/node.key"), *first_key);
  auto ca = orrery::ReadFileToString(root_ + "/tls/ca.crt");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(orrery::rpc::VerifyCertificate(*ca, *orrery::ReadFileToString(dir_ + "/node.crt")).ok());

  // Past the first certificate's expiry (what is waited for here is the clock itself), every
  // new connection is made with the renewed ones: the far host's CLI, a driver's tasks reaching
  // the far node's new workers, and a value copied there from the head's node over the
  // object data socket. The node never stopped being alive.
  ASSERT_TRUE(orrery::testing::Eventually([&] { return std::time(nullptr) > first_.not_after + 1; }));
  EXPECT_THAT(orrery::testing::AliveNodes(far_), ::testing::UnorderedElementsAre(head_node_, node_));
  InitDriverOnTheHeadsHost();
  EXPECT_EQ(*orrery::Get(orrery::Task(NodeOf).SetResource("far", 1).Remote()), node_);
  std::vector<uint8_t> bytes(4 << 20, 5);
  auto object = orrery::Put(bytes);
  EXPECT_EQ(*orrery::Get(orrery::Task(SumOf).SetResource("far", 1).Remote(object)), int64_t{5} * (4 << 20));
}

// The GCS away (stopped) past a node certificate's expiry: the renewals fail, and once the GCS
// is back the node, whose expired certificate opens no connection, joins again with the token
// and gets a new one before the GCS's health checks declare it dead.
TEST_F(TlsJoinShortCertificates, ANodeWhoseCertificateExpiredWhileTheGcsWasAwayJoinsAgainWithTheToken) {
  ASSERT_NO_FATAL_FAILURE(JoinFarNode());
  pid_t gcs = orrery::testing::DaemonPid(root_, "gcs");
  ASSERT_GT(gcs, 0);
  ASSERT_EQ(kill(gcs, SIGSTOP), 0);
  // Past the expiry (the clock is what is waited for), with the GCS away all along.
  bool past = orrery::testing::Eventually([&] { return std::time(nullptr) > first_.not_after + 1; },
                                          60);
  ASSERT_EQ(kill(gcs, SIGCONT), 0);
  ASSERT_TRUE(past);
  EXPECT_EQ(CertificateIn(dir_).serial_hex, first_.serial_hex) << "renewed with the GCS away";
  int64_t back = std::time(nullptr);

  ASSERT_TRUE(orrery::testing::Eventually([&] { return CertificateIn(dir_).not_after > back; }));
  orrery::rpc::CertificateInfo rejoined = CertificateIn(dir_);
  EXPECT_EQ(rejoined.common_name, node_);
  // Past the time five failed health checks a second apart would have taken, the node is alive
  // and serves work over connections made with its new certificate.
  ASSERT_TRUE(orrery::testing::Eventually([&] { return std::time(nullptr) > back + 8; }, 20));
  EXPECT_THAT(orrery::testing::AliveNodes(far_), ::testing::UnorderedElementsAre(head_node_, node_));
  InitDriverOnTheHeadsHost();
  EXPECT_EQ(*orrery::Get(orrery::Task(NodeOf).SetResource("far", 1).Remote()), node_);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  // A job's driver (TlsDriverMode): joins as `orrery job submit` tells it to.
  if (argc == 2 && std::string(argv[1]) == "driver") {
    orrery::Init();
    std::printf("driver ran a task on node %s\n", orrery::Get(orrery::Task(NodeOf).Remote())->c_str());
    orrery::Shutdown();
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
