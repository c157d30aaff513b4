// The `orrery` command as a user runs it: start a head, join it, ask for status, stop it, and
// the errors for a busy port, a wrong token, a missing head and nothing to stop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/common/session.h"
#include "src/rpc/tls_files.h"
#include "tests/integration/test_cluster.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct CliRun {  // what one command did
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char root[] = "/tmp/oc-XXXXXX";
    ASSERT_NE(mkdtemp(root), nullptr);
    root_ = root;
  }

  void TearDown() override {
    Orrery({"stop", "--temp-dir", root_, "--grace-ms", "2000"});
    RemoveAll(root_).IgnoreError();
  }

  // Runs a binary from the build to completion and collects what it printed.
  CliRun Exec(const std::string& binary, const std::vector<std::string>& args,
           const std::map<std::string, std::string>& env = {}) {
    static int counter = 0;
    std::string out = absl::StrCat(root_, "/cli-", counter, ".out");
    std::string err = absl::StrCat(root_, "/cli-", counter++, ".err");
    SpawnOptions spawn;
    spawn.argv = {BinDir() + "/" + binary};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    spawn.env = env;
    spawn.unset_env = {"ORRERY_ADDRESS", "ORRERY_TOKEN", "ORRERY_TEMP_DIR"};
    for (const auto& [name, value] : env) spawn.env[name] = value;
    spawn.stdout_path = out;
    spawn.stderr_path = err;
    CliRun run;
    auto child = Spawn(spawn);
    if (!child.ok()) {
      run.err = std::string(child.status().message());
      return run;
    }
    WaitForExit(child->pidfd, 60'000);
    std::optional<int> status = TryReap(child->pidfd);
    close(child->pidfd);
    run.exit_code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    run.out = ReadFileToString(out).value_or("");
    run.err = ReadFileToString(err).value_or("");
    return run;
  }

  CliRun Orrery(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    return Exec("orrery", args, env);
  }

  CliRun StartHead(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"start", "--head", "--port", "0", "--temp-dir", root_,
                                     "--num-cpus", "2", "--node-ip-address", "127.0.0.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Orrery(args);
  }

  std::string Address() {
    auto session = LatestSession(root_);
    if (!session.ok()) return "";
    auto record = ReadClusterRecord(*session);
    return record.ok() ? record->gcs_address : "";
  }
  std::string Token() {
    auto session = LatestSession(root_);
    if (!session.ok()) return "";
    return ReadToken(session->TokenFile()).value_or("");
  }
  // How this test's own clients reach the cluster, as the CLI on the head's host does: with the
  // token and the head's TLS identity (TLS is on by default).
  rpc::ClientOptions ClusterOptions() {
    rpc::RpcOptions options;
    if (auto tls = rpc::ReadTlsFiles(root_ + "/tls"); tls.ok()) {
      options.tls = std::make_shared<const rpc::TlsConfig>(tls->config);
    }
    return rpc::ClientOptions{"cluster", Token(), options};
  }

  // Registers a job running orrery-test-worker with the cluster this test started, and asks
  // its raylet for a lease, as a driver would.
  absl::StatusOr<rpc::RequestWorkerLeaseReply> LeaseOnTheHead(const std::map<std::string, double>& resources,
                                                               int64_t wait_ms = 10'000) {
    rpc::ClientOptions options = ClusterOptions();
    gcs::GrpcGcsClient gcs(Address(), options);
    auto nodes = gcs.client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
    if (!nodes.ok()) return nodes.status();
    if (nodes->nodes_size() != 1) return absl::InternalError("expected one node");
    auto next = gcs.client().CallSync(&rpc::GcsService::Stub::async::GetNextJobId, rpc::GetNextJobIdRequest());
    if (!next.ok()) return next.status();
    rpc::AddJobRequest add;
    add.mutable_job()->set_job_id(next->job_id());
    add.mutable_job()->set_version(ORRERY_VERSION_STRING);
    add.mutable_job()->mutable_config()->add_worker_command(BinDir() + "/orrery-test-worker");
    if (auto added = gcs.client().CallSync(&rpc::GcsService::Stub::async::AddJob, add); !added.ok()) {
      return added.status();
    }
    raylet::GrpcRayletClient raylet("unix:" + nodes->nodes(0).raylet_socket(), options);
    rpc::CallOptions call;
    call.timeout_ms = wait_ms + 10'000;
    return raylet.client().CallSync(
        &rpc::NodeManagerService::Stub::async::RequestWorkerLease,
        LeaseRequest(JobId::FromBinary(next->job_id()).value(), resources, WorkerId::FromRandom(), wait_ms), call);
  }

  // Live processes whose environment or command line mentions this test's root.
  std::vector<pid_t> ProcessesUnderRoot() {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      pid_t pid = atoi(entry.path().filename().c_str());
      if (pid <= 0 || pid == getpid() || !ProcessAlive(pid)) continue;
      for (const char* file : {"/environ", "/cmdline"}) {
        auto content = ReadFileToString(entry.path().string() + file);
        if (content.ok() && content->find(root_) != std::string::npos) {
          found.push_back(pid);
          break;
        }
      }
    }
    return found;
  }

  std::string root_;
};

TEST_F(CliTest, StartPrintsTheAddressAndJoinLineStatusShowsTheNodeStopLeavesNothing) {
  CliRun start = StartHead();
  ASSERT_EQ(start.exit_code, 0) << start.err;
  std::string address = Address();
  ASSERT_FALSE(address.empty());
  EXPECT_THAT(start.out, HasSubstr("GCS address: " + address));
  EXPECT_THAT(start.out, HasSubstr("orrery start --address " + address + " --token " + Token()));

  CliRun status = Orrery({"status", "--temp-dir", root_});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("Nodes: 1 alive, 0 dead"));
  EXPECT_THAT(status.out, HasSubstr("ALIVE"));
  EXPECT_THAT(status.out, HasSubstr("CPU 0/2"));
  // Each resource and the object store as bars under the node.
  EXPECT_THAT(status.out, HasSubstr("    CPU          [....................]   0%"));
  EXPECT_THAT(status.out, HasSubstr("    object store ["));

  // Start a worker too, so that stopping must end it as well.
  auto lease = LeaseOnTheHead({{"CPU", 1}});
  ASSERT_OK(lease.status());
  ASSERT_EQ(lease->result(), rpc::RequestWorkerLeaseReply::GRANTED);
  EXPECT_GE(ProcessesUnderRoot().size(), 4u);  // GCS, raylet, zygote, workers

  CliRun stop = Orrery({"stop", "--temp-dir", root_});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 2 Orrery daemons"));
  EXPECT_THAT(ProcessesUnderRoot(), ::testing::IsEmpty());
  EXPECT_FALSE(ProcessAlive(lease->worker_pid()));
}

TEST_F(CliTest, StatusWatchShowsTheClusterAgainUntilItsCount) {
  ASSERT_EQ(StartHead().exit_code, 0);
  CliRun watched = Orrery({"status", "--temp-dir", root_, "--watch", "0.2", "--count", "3"});
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  // Not a terminal: one report after another, each under the time it was taken.
  size_t reports = 0;
  for (size_t at = 0; (at = watched.out.find("Nodes: 1 alive, 0 dead", at)) != std::string::npos; ++at) ++reports;
  EXPECT_EQ(reports, 3u) << watched.out;
  EXPECT_THAT(watched.out, ::testing::ContainsRegex("\\(every 0.2s: [0-9-]+ [0-9:]+\\)"));
  EXPECT_EQ(watched.out.find("\033["), std::string::npos) << "no terminal control off a terminal";
  CliRun bad = Orrery({"status", "--temp-dir", root_, "--watch", "-1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.out + bad.err, HasSubstr("--watch"));
}

TEST_F(CliTest, StatusShowsPendingDemandWithinTwoSeconds) {
  ASSERT_EQ(StartHead().exit_code, 0);
  int64_t asked_at = MonotonicMs();
  auto pending = LeaseOnTheHead({{"CPU", 64}}, /*wait_ms=*/100);
  ASSERT_OK(pending.status());
  ASSERT_EQ(pending->result(), rpc::RequestWorkerLeaseReply::PENDING);
  std::string last;
  bool shown = Eventually(
      [&] {
        last = Orrery({"status", "--temp-dir", root_}).out;
        return last.find("{CPU: 64}: 1 pending (infeasible") != std::string::npos;
      },
      2000);
  EXPECT_TRUE(shown) << last;
  EXPECT_LT(MonotonicMs() - asked_at, 2500);
}

TEST_F(CliTest, AnotherRayletJoinsWithTheTokenAndNotWithoutIt) {
  ASSERT_EQ(StartHead().exit_code, 0);
  std::string address = Address();
  CliRun wrong = Orrery({"start", "--address", address, "--token", "wrong", "--temp-dir", root_});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("refused the token"));
  CliRun join = Orrery({"start", "--address", address, "--token", Token(), "--temp-dir", root_, "--num-cpus", "1",
                     "--node-ip-address", "127.0.0.1"});
  ASSERT_EQ(join.exit_code, 0) << join.err;
  CliRun status = Orrery({"status", "--temp-dir", root_});
  EXPECT_THAT(status.out, HasSubstr("Nodes: 2 alive, 0 dead"));
  // Without a local session, the address, the token and the TLS identity come from the environment.
  CliRun by_env = Orrery({"status", "--temp-dir", root_ + "/elsewhere"},
                      {{"ORRERY_ADDRESS", address}, {"ORRERY_TOKEN", Token()}, {"ORRERY_TLS_DIR", root_ + "/tls"}});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  EXPECT_THAT(by_env.out, HasSubstr("Nodes: 2 alive"));
}

TEST_F(CliTest, JoiningAnAddressWhereNoHeadRunsSaysSo) {
  int port = 0;
  {
    // A port nothing listens on.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    close(fd);
  }
  std::string address = "127.0.0.1:" + std::to_string(port);
  CliRun join = Orrery({"start", "--address", address, "--token", "t", "--temp-dir", root_});
  EXPECT_EQ(join.exit_code, 1);
  EXPECT_THAT(join.err, HasSubstr("no Orrery head answers at " + address));
}

TEST_F(CliTest, StartOnABusyPortNamesThePort) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  CliRun start = Orrery({"start", "--head", "--port", port, "--temp-dir", root_});
  close(fd);
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_THAT(start.err, HasSubstr("port " + port + " is already in use"));
}

// A --temp-dir so deep that a socket under it cannot be named (sun_path holds 107 bytes) is
// refused with the limit and the fix, and nothing is left running.
TEST_F(CliTest, ATempDirTooDeepForItsSocketsIsRefusedNamingTheLimit) {
  std::string deep = root_ + "/" + std::string(60, 'd');
  CliRun start = Orrery({"start", "--head", "--port", "0", "--num-cpus", "1", "--temp-dir", deep});
  EXPECT_EQ(start.exit_code, 1) << start.out << start.err;
  EXPECT_THAT(start.err, AllOf(HasSubstr("must have 1 to 107 bytes"), HasSubstr("use a shorter --temp-dir")));
  CliRun stop = Orrery({"stop", "--temp-dir", deep});
  EXPECT_THAT(stop.out + stop.err, HasSubstr("Nothing is running"));
}

// A shell that exported ORRERY_TOKEN for an earlier cluster (as docs/cli.md suggests): the
// new head adopts that token and says so, and every daemon and client agrees on it.
TEST_F(CliTest, AHeadStartedWithATokenInTheEnvironmentUsesItEverywhere) {
  const std::string exported = "exported-for-an-earlier-cluster";
  CliRun start = Orrery({"start", "--head", "--port", "0", "--temp-dir", root_, "--num-cpus", "1",
                         "--node-ip-address", "127.0.0.1"},
                        {{"ORRERY_TOKEN", exported}});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_THAT(start.out, HasSubstr("the one given by ORRERY_TOKEN"));
  EXPECT_THAT(start.out, HasSubstr("--token " + exported));
  EXPECT_EQ(Token(), exported);  // what drivers and the CLI read from the session
  // Without the variable, through the session's token file: the GCS takes the same token.
  CliRun status = Orrery({"status", "--temp-dir", root_});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  CliRun join = Orrery({"start", "--address", Address(), "--token", exported, "--temp-dir", root_, "--num-cpus", "1",
                        "--node-ip-address", "127.0.0.1"});
  EXPECT_EQ(join.exit_code, 0) << join.err;
}

// A head stopped while a client was still connected closed that connection first, which
// lingers in TIME_WAIT on its port for a minute: a head started again at once gets the port.
TEST_F(CliTest, AHeadStartsAgainAtOnceOnThePortItsPredecessorClosed) {
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  close(probe);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::vector<std::string> head = {"start", "--head", "--port", port, "--temp-dir", root_, "--num-cpus", "1",
                                         "--node-ip-address", "127.0.0.1"};
  CliRun first = Orrery(head);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  {
    gcs::GrpcGcsClient client(Address(), ClusterOptions());
    ASSERT_OK(client.client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest()).status());
    CliRun stop = Orrery({"stop", "--temp-dir", root_});
    ASSERT_EQ(stop.exit_code, 0) << stop.err;
  }
  CliRun again = Orrery(head);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(":" + port));
}

TEST_F(CliTest, StopTouchesNothingUnderAnotherRoot) {
  char other[] = "/tmp/oc-other-XXXXXX";
  ASSERT_NE(mkdtemp(other), nullptr);
  std::string other_root = other;
  CliRun theirs = Orrery({"start", "--head", "--port", "0", "--temp-dir", other_root, "--num-cpus", "1"});
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
  ASSERT_EQ(StartHead().exit_code, 0);
  ASSERT_EQ(Orrery({"stop", "--temp-dir", root_}).exit_code, 0);
  CliRun still = Orrery({"status", "--temp-dir", other_root});
  EXPECT_EQ(still.exit_code, 0) << still.err;
  EXPECT_THAT(still.out, HasSubstr("Nodes: 1 alive"));
  Orrery({"stop", "--temp-dir", other_root});
  RemoveAll(other_root).IgnoreError();
}

TEST_F(CliTest, StopWithNothingRunningSaysSoAndSucceeds) {
  CliRun stop = Orrery({"stop", "--temp-dir", root_});
  EXPECT_EQ(stop.exit_code, 0);
  EXPECT_THAT(stop.out, HasSubstr("Nothing is running under " + root_));
}

TEST_F(CliTest, ARayletThatCannotReachTheGcsGivesUpNamingTheAddress) {
  auto session = CreateSession(root_);
  ASSERT_OK(session.status());
  int64_t started = MonotonicMs();
  CliRun raylet = Exec("orrery-raylet", {"--gcs-address=127.0.0.1:1", "--session-dir=" + session->path(), "--token=t",
                                      "--gcs-connect-timeout-ms=500", "--num-cpus=1"});
  EXPECT_EQ(raylet.exit_code, 1);
  EXPECT_THAT(raylet.err, HasSubstr("cannot reach the GCS at 127.0.0.1:1 within 500 ms"));
  EXPECT_LT(MonotonicMs() - started, 10'000);
}

}  // namespace
}  // namespace orrery::testing
