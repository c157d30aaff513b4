// Metrics as an operator scrapes them: a head and a joined raylet started with `orrery start`,
// their GET /metrics read over HTTP and checked by Debian's promtool, the scrape targets file
// the head keeps, task counters rising as a job submitted with `orrery job submit` (this
// binary as its driver) runs tasks, and a real Prometheus server scraping the cluster through
// that file (Release pass only).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "cli_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "src/http/http_client.h"
#include "src/rpc/tls_config.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- the driver's remote code ----

int Square(int x) { return x * x; }
std::vector<uint8_t> MakeBlock(int mib) { return std::vector<uint8_t>(static_cast<size_t>(mib) << 20, 7); }
size_t SizeOf(const std::vector<uint8_t>& bytes) { return bytes.size(); }
int Divide(int a, int b) {
  if (b == 0) throw std::invalid_argument("division by zero");
  return a / b;
}
ORRERY_REMOTE(Square, Divide, MakeBlock, SizeOf);

// `driver N`: N Square tasks that finish and one Divide that fails.
int RunDriver(int tasks) {
  orrery::Init();
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < tasks; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  orrery::Get(squares);
  try {
    orrery::Get(orrery::Task(Divide).Remote(1, 0));
  } catch (const std::exception&) {
  }
  orrery::Shutdown();
  return 0;
}

// `transfer MIB FROM TO`: an object of MIB mebibytes made by a task on node FROM and read by a
// task on node TO (hex ids), wherever the driver runs (both raylets share the host).
int RunTransferDriver(int mib, const std::string& from, const std::string& to) {
  orrery::Init();
  auto block =
      orrery::Task(MakeBlock).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(from)).Remote(mib);
  size_t size =
      *orrery::Get(orrery::Task(SizeOf).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(to)).Remote(block));
  orrery::Shutdown();
  return size == static_cast<size_t>(mib) << 20 ? 0 : 1;
}

// `user_metrics N`: N tasks count requests by route and observe their index; an actor sets a
// gauge; the driver adds to a sum. Each process reports to its own node's raylet.
void CountRequest(int i) {
  orrery::metrics::Counter requests("test_requests", "Requests handled", {"route"});
  requests.Inc(1, {{"route", i % 2 == 0 ? "/even" : "/odd"}});
  orrery::metrics::Histogram index("test_request_index", "Index of each request", {2.5, 5, 10});
  index.Observe(i);
}
void CountRequestTask(int i) { CountRequest(i); }
class Meter {
 public:
  static Meter* Create() { return new Meter(); }
  bool SetQueueLength(double length) {
    orrery::metrics::Gauge("test_queue_length", "Requests waiting").Set(length);
    return true;
  }
};
ORRERY_REMOTE(CountRequestTask, Meter::Create, &Meter::SetQueueLength);

// Keeps the actor (and its gauge) until the file `release` exists.
int RunUserMetricsDriver(int tasks, const std::string& release) {
  orrery::Init();
  orrery::metrics::Sum("test_driver_balance", "Added up by the driver").Add(2.5);
  std::vector<orrery::ObjectRef<void>> done;
  for (int i = 0; i < tasks; ++i) done.push_back(orrery::Task(CountRequestTask).Remote(i));
  orrery::Wait(done, tasks, -1);
  auto meter = orrery::Actor(Meter::Create).Remote();
  orrery::Get(meter.Task(&Meter::SetQueueLength).Remote(7.0));
  for (int i = 0; i < 600 && !fs::exists(release); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  orrery::Shutdown();
  return 0;
}

namespace {

using orrery::testing::Cli;
using orrery::testing::CliRun;
using orrery::testing::Eventually;
using orrery::testing::RunCli;
using ::testing::HasSubstr;

std::string g_root;
orrery::testing::CliCluster g_cluster;

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }
CliRun Orrery(const std::string& args) { return RunCli(orrery::testing::WithTempDir(args, g_root)); }

// GET `path` from host:port: the status code and the body ({-1, why} when nothing answered).
// HTTPS trusting only `ca_pem` when it is set.
std::pair<int, std::string> HttpGet(const std::string& target, const std::string& path,
                                    const std::string& ca_pem = "") {
  auto reply = orrery::http::Get(target, path, orrery::http::GetOptions{ca_pem, orrery::rpc::kClusterServerName});
  if (!reply.ok()) return {-1, reply.status().ToString()};
  return {reply->status, reply->body};
}

std::string ReadFile(const std::string& path);

// The cluster CA the head made (the suite's cluster has TLS on, as `orrery start` has it by
// default): all a scraper needs to read /metrics over HTTPS.
std::string CaFile() { return g_root + "/tls/ca.crt"; }

// GET `path` (/metrics) from a target of the cluster, over HTTPS as Prometheus scrapes it.
std::pair<int, std::string> Scrape(const std::string& target, const std::string& path = "/metrics") {
  return HttpGet(target, path, ReadFile(CaFile()));
}

// What `promtool check metrics` says of `text` ("" when nothing), and whether it passed.
std::pair<std::string, bool> Promtool(const std::string& text) {
  std::string path = g_root + "/scrape.txt";
  std::ofstream(path) << text;
  FILE* pipe = popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  int status = pclose(pipe);
  return {output, status == 0};
}

// The value of the sample `name{labels}` (labels as written in the exposition), or -1.
double SampleValue(const std::string& text, const std::string& name_and_labels) {
  size_t at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

// The sum of the samples of `name` (exactly: not name_suffix) whose labels contain `labels`
// (as written in the exposition, e.g. route="/odd"), and how many there are.
std::pair<double, int> SumOfSamples(const std::string& text, const std::string& name, const std::string& labels = "") {
  std::pair<double, int> sum{0, 0};
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 || line.find(labels) == std::string::npos) continue;
    sum.first += std::stod(line.substr(line.rfind(' ') + 1));
    ++sum.second;
  }
  return sum;
}

// The targets `orrery metrics targets` prints: component ("gcs" or the raylet's node id) to
// host:port.
std::map<std::string, std::string> Targets(const std::string& json_text) {
  std::map<std::string, std::string> targets;
  nlohmann::json groups = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!groups.is_array()) return targets;
  for (const auto& group : groups) {
    std::string key = group["labels"].value("node_id", group["labels"].value("component", ""));
    targets[key] = group["targets"][0].get<std::string>();
  }
  return targets;
}

std::string TargetsFile() { return g_root + "/session_latest/metrics/targets.json"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class Metrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The cluster's processes inherit it: they report their own metrics every 200 ms.
    setenv("ORRERY_METRICS_REPORT_INTERVAL_MS", "200", 1);
    g_root = orrery::testing::MakeTempRoot();
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1");
    ASSERT_FALSE(g_cluster.token.empty());
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, "--resources '{\"far\": 1}'"));
  }
  static void TearDownTestSuite() {
    orrery::testing::StopClusterAndRemoveRoot(g_root);
  }
};

TEST_F(Metrics, TheGcsAndEveryRayletServeMetricsThatPromtoolAccepts) {
  CliRun targets = Orrery("metrics targets");
  ASSERT_EQ(targets.exit_code, 0) << targets.output;
  std::map<std::string, std::string> by_component = Targets(targets.output);
  ASSERT_EQ(by_component.size(), 3u) << targets.output;  // the GCS and two raylets
  ASSERT_EQ(by_component.count("gcs"), 1u) << targets.output;
  // The cluster has TLS on: every target says it is scraped over HTTPS.
  for (const auto& group : nlohmann::json::parse(targets.output)) {
    EXPECT_EQ(group["labels"].value("__scheme__", ""), "https") << targets.output;
  }
  // The head keeps the same in the session, for Prometheus's file discovery.
  EXPECT_EQ(Targets(ReadFile(TargetsFile())), by_component);
  for (const auto& [component, target] : by_component) {
    auto [code, body] = Scrape(target);
    ASSERT_EQ(code, 200) << component << " at " << target << ": " << body;
    auto [lint, passed] = Promtool(body);
    EXPECT_TRUE(passed) << component << ": " << lint;
    if (component == "gcs") {
      EXPECT_EQ(SampleValue(body, "orrery_gcs_nodes{state=\"ALIVE\"}"), 2) << body;
    } else {
      // A raylet's samples name its node.
      EXPECT_GT(SampleValue(body, "orrery_object_store_capacity_bytes{node_id=\"" + component + "\"}"), 0) << body;
    }
    EXPECT_EQ(Scrape(target, "/").first, 404);
    // HTTPS only: a plain request reads nothing.
    EXPECT_NE(HttpGet(target, "/metrics").first, 200);
  }
  // `orrery status` shows where each is.
  std::string status = Orrery("status").output;
  for (const auto& [component, target] : by_component) EXPECT_THAT(status, HasSubstr("https://" + target + "/metrics"));
}

TEST_F(Metrics, EachTaskAttemptThatEndsIsCountedByFunctionAndState) {
  std::string gcs = Targets(Orrery("metrics targets").output)["gcs"];
  auto read = [&](const std::string& sample) { return SampleValue(Scrape(gcs).second, sample); };
  const std::string finished = "orrery_tasks_ended_total{function=\"Square\",state=\"FINISHED\"}";
  const std::string failed = "orrery_tasks_ended_total{function=\"Divide\",state=\"FAILED\"}";
  const std::string ran = "orrery_task_run_seconds_count{function=\"Square\"}";
  double finished_before = std::max(0.0, read(finished));
  CliRun job = Orrery("job submit -- " + Self() + " driver 6");
  ASSERT_EQ(job.exit_code, 0) << job.output;
  // Task events reach the GCS within a second or two of the tasks' ends.
  EXPECT_TRUE(Eventually([&] { return read(finished) >= finished_before + 6; })) << read(finished);
  EXPECT_TRUE(Eventually([&] { return read(failed) >= 1; })) << Scrape(gcs).second;
  EXPECT_GE(read(ran), 6);
}

// A raylet counts the workers it starts and how long they take to register, the bytes of
// objects it sends to other nodes and copies in from them, and its host's CPU time.
TEST_F(Metrics, WorkerStartsObjectTransfersAndTheHostsCpuAreCounted) {
  std::map<std::string, std::string> targets = Targets(Orrery("metrics targets").output);
  std::string head_node, far_node;
  for (const auto& [component, target] : targets) {
    if (component == "gcs") continue;
    (Scrape(target).second.find("resource=\"far\"") != std::string::npos ? far_node : head_node) =
        component;
  }
  ASSERT_FALSE(head_node.empty());
  ASSERT_FALSE(far_node.empty());
  auto read = [&](const std::string& node, const std::string& name) {
    return SumOfSamples(Scrape(targets[node]).second, name, "").first;
  };
  const double sent_before = read(head_node, "orrery_object_transfer_sent_bytes_total");
  const double received_before = read(far_node, "orrery_object_transfer_received_bytes_total");
  const double starts_before = read(far_node, "orrery_raylet_worker_starts_total");
  const double cpu_before = read(far_node, "orrery_node_cpu_seconds_total");
  CliRun job = Orrery("job submit -- " + Self() + " transfer 4 " + head_node + " " + far_node);
  ASSERT_EQ(job.exit_code, 0) << job.output;
  const double mib4 = 4 << 20;
  // The sender counts a send once its last byte is written, which may be after the reader has it.
  EXPECT_TRUE(Eventually([&] { return read(head_node, "orrery_object_transfer_sent_bytes_total") >= sent_before + mib4; }))
      << read(head_node, "orrery_object_transfer_sent_bytes_total");
  EXPECT_GE(read(far_node, "orrery_object_transfer_received_bytes_total"), received_before + mib4);
  EXPECT_GE(read(far_node, "orrery_object_transfer_received_objects_total"), 1);
  EXPECT_GT(read(far_node, "orrery_raylet_worker_starts_total"), starts_before);
  // Every start that registered was timed, and none of this suite's failed.
  EXPECT_GE(read(far_node, "orrery_raylet_worker_start_seconds_count"), 1);
  EXPECT_EQ(read(far_node, "orrery_raylet_worker_start_failures_total"), 0);
  EXPECT_GT(read(far_node, "orrery_node_cpu_seconds_total"), cpu_before);
  std::string scrape = Scrape(targets[far_node]).second;
  EXPECT_THAT(scrape, HasSubstr("orrery_node_cpu_seconds_total{node_id=\"" + far_node + "\",mode=\"busy\"}"));
  EXPECT_THAT(scrape, HasSubstr("orrery_object_store_restored_bytes_total{"));
  auto [lint, passed] = Promtool(scrape);
  EXPECT_TRUE(passed) << lint;
}

// RPC calls are counted per method, with their latency, where they are served and where they
// are made: nodes registering at the GCS, and the lease requests of a job's tasks at a raylet.
TEST_F(Metrics, RpcCallsAreCountedPerMethodWhereTheyAreServedAndWhereTheyAreMade) {
  std::map<std::string, std::string> targets = Targets(Orrery("metrics targets").output);
  ASSERT_EQ(Orrery("job submit -- " + Self() + " driver 4").exit_code, 0);
  std::string gcs = Scrape(targets["gcs"]).second;
  EXPECT_GE(SumOfSamples(gcs, "orrery_rpc_server_requests_total", "method=\"RegisterNode\",code=\"OK\"").first, 2)
      << gcs;
  EXPECT_GE(SumOfSamples(gcs, "orrery_rpc_server_latency_seconds_count", "method=\"RegisterNode\"").first, 2);
  double leases_served = 0, gcs_calls_made = 0;
  for (const auto& [component, target] : targets) {
    if (component == "gcs") continue;
    std::string raylet = Scrape(target).second;
    leases_served += SumOfSamples(raylet, "orrery_rpc_server_requests_total",
                                  "method=\"RequestWorkerLease\"").first;
    gcs_calls_made += SumOfSamples(raylet, "orrery_rpc_client_requests_total",
                                   "service=\"orrery.rpc.GcsService\",method=\"RegisterNode\",code=\"OK\"").first;
  }
  EXPECT_GE(leases_served, 1);
  EXPECT_GE(gcs_calls_made, 2);  // each raylet registered itself
}

// A program's own metrics, from a driver, tasks and an actor on two nodes, reach each node's
// raylet and are served with its /metrics: counts added up across processes and kept once the
// processes end; a gauge while its process lives.
TEST_F(Metrics, AProgramsOwnMetricsAreServedByTheRayletsOfItsProcesses) {
  std::map<std::string, std::string> targets = Targets(Orrery("metrics targets").output);
  targets.erase("gcs");
  ASSERT_EQ(targets.size(), 2u);
  // What every raylet serves, added up.
  auto total = [&](const std::string& name, const std::string& labels = "") {
    std::pair<double, int> sum{0, 0};
    for (const auto& [node, target] : targets) {
      auto [value, count] = SumOfSamples(Scrape(target).second, name, labels);
      sum.first += value;
      sum.second += count;
    }
    return sum;
  };
  const std::string release = g_root + "/release-meter";
  CliRun job = Orrery("job submit --no-wait --submission-id user-metrics -- " + Self() + " user_metrics 10 " + release);
  ASSERT_EQ(job.exit_code, 0) << job.output;
  // Each process reports every 200 ms here (ORRERY_METRICS_REPORT_INTERVAL_MS), and when it
  // ends: once every process has reported all it recorded, the totals stay as they are.
  EXPECT_TRUE(Eventually([&] {
    return total("test_queue_length").first == 7 && total("test_requests_total").first == 10 &&
           total("test_request_index_count").first == 10 && total("test_driver_balance").first == 2.5;
  })) << total("test_queue_length").first << " " << total("test_requests_total").first;
  EXPECT_EQ(total("test_requests_total", "route=\"/even\"").first, 5);
  EXPECT_EQ(total("test_requests_total", "route=\"/odd\"").first, 5);
  EXPECT_EQ(total("test_request_index_count").first, 10);
  EXPECT_EQ(total("test_request_index_bucket", "le=\"2.5\"").first, 3);  // 0, 1 and 2
  EXPECT_EQ(total("test_request_index_sum").first, 45);
  EXPECT_EQ(total("test_driver_balance").first, 2.5);
  for (const auto& [node, target] : targets) {
    std::string scrape = Scrape(target).second;
    auto [lint, passed] = Promtool(scrape);
    EXPECT_TRUE(passed) << node << ": " << lint;
    // Each sample names its node and job.
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("test_requests_total{", 0) != 0) continue;
      EXPECT_THAT(line, HasSubstr("node_id=\"" + node + "\"")) << line;
      EXPECT_THAT(line, ::testing::ContainsRegex("job_id=\"[0-9a-f]+\"")) << line;
    }
  }
  // The job ends, and its processes with it: their gauges go, what they counted stays.
  std::ofstream(release).put('\n');
  EXPECT_TRUE(Eventually([&] { return Orrery("job status user-metrics").output.find("SUCCEEDED") != std::string::npos; }))
      << Orrery("job status user-metrics").output;
  EXPECT_TRUE(Eventually([&] { return total("test_queue_length").second == 0; })) << total("test_queue_length").first;
  EXPECT_EQ(total("test_requests_total").first, 10);
  EXPECT_EQ(total("test_driver_balance").first, 2.5);
}

TEST_F(Metrics, TheTargetsFileFollowsNodesLeaving) {
  ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster));
  std::vector<std::string> alive = orrery::testing::AliveNodes(g_root);
  ASSERT_EQ(alive.size(), 3u);
  const std::string leaving = alive.back() == g_cluster.node_id ? alive.front() : alive.back();
  ASSERT_TRUE(Eventually([&] { return Targets(ReadFile(TargetsFile())).count(leaving) == 1; }));
  ASSERT_TRUE(orrery::testing::StopRaylet(g_root, leaving));
  EXPECT_TRUE(Eventually([&] { return Targets(ReadFile(TargetsFile())).count(leaving) == 0; }))
      << ReadFile(TargetsFile());
  EXPECT_EQ(Targets(ReadFile(TargetsFile())).size(), 3u) << ReadFile(TargetsFile());
}

TEST_F(Metrics, AHeadWhoseMetricsPortIsTakenFailsToStartNamingIt) {
  std::string gcs = Targets(Orrery("metrics targets").output)["gcs"];
  std::string port = gcs.substr(gcs.rfind(':') + 1);
  std::string other_root = orrery::testing::MakeTempRoot();
  CliRun start = RunCli("start --head --port 0 --node-ip-address 127.0.0.1 --metrics-port " + port +
                        " --temp-dir " + other_root);
  EXPECT_NE(start.exit_code, 0) << start.output;
  EXPECT_THAT(start.output, HasSubstr("port " + port + " is already in use")) << start.output;
  Cli("stop --temp-dir " + other_root);
  fs::remove_all(other_root);
}

// A real Prometheus (Debian's) finds the cluster through the targets file and scrapes it: the
// count of finished tasks it reports rises as a job runs tasks.
TEST_F(Metrics, APrometheusServerScrapesTheClusterThroughTheTargetsFile) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "Release pass only (a Prometheus server)";
#endif
  std::string dir = g_root + "/prometheus";
  fs::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n"
                                         << "scrape_configs:\n  - job_name: orrery\n    file_sd_configs:\n"
                                         << "      - files: ['" << TargetsFile() << "']\n        refresh_interval: 1s\n"
                                         // The targets say https (__scheme__); what it trusts:
                                         << "    tls_config:\n      ca_file: " << CaFile()
                                         << "\n      server_name: " << orrery::rpc::kClusterServerName << "\n";
  // A free port for its web API: bound by the kernel, then handed over.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string web = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  close(probe);
  pid_t prometheus = fork();
  if (prometheus == 0) {
    freopen((dir + "/prometheus.log").c_str(), "w", stderr);
    execlp("prometheus", "prometheus", ("--config.file=" + dir + "/prometheus.yml").c_str(),
           ("--storage.tsdb.path=" + dir + "/data").c_str(), ("--web.listen-address=" + web).c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(prometheus, 0);
  // Stopped however the test ends.
  std::shared_ptr<void> stop(nullptr, [prometheus](void*) {
    kill(prometheus, SIGTERM);
    waitpid(prometheus, nullptr, 0);
  });
  ASSERT_TRUE(Eventually([&] { return HttpGet(web, "/-/ready").first == 200; }, 60)) << ReadFile(dir + "/prometheus.log");

  // What Prometheus says the cluster's finished Square tasks are (-1: no answer yet).
  auto finished = [&]() -> double {
    auto [code, body] = HttpGet(web, "/api/v1/query?query=sum(orrery_tasks_ended_total%7Bfunction%3D%22Square%22"
                                     "%2Cstate%3D%22FINISHED%22%7D)");
    nlohmann::json reply = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (code != 200 || !reply.is_object() || reply["data"]["result"].empty()) return -1;
    return std::stod(reply["data"]["result"][0]["value"][1].get<std::string>());
  };
  // Every target is up: the GCS and the raylets, found through the file.
  ASSERT_TRUE(Eventually(
      [&] {
        auto [code, body] = HttpGet(web, "/api/v1/query?query=sum(up)");
        nlohmann::json reply = nlohmann::json::parse(body, nullptr, false);
        return code == 200 && reply.is_object() && !reply["data"]["result"].empty() &&
               std::stod(reply["data"]["result"][0]["value"][1].get<std::string>()) >=
                   static_cast<double>(Targets(ReadFile(TargetsFile())).size());
      },
      60))
      << ReadFile(dir + "/prometheus.log");
  ASSERT_EQ(Orrery("job submit -- " + Self() + " driver 5").exit_code, 0);
  double first = 0;
  ASSERT_TRUE(Eventually([&] { return (first = finished()) >= 5; }, 60)) << finished();
  ASSERT_EQ(Orrery("job submit -- " + Self() + " driver 5").exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return finished() >= first + 5; }, 60)) << finished();
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 3 && std::string(argv[1]) == "driver") return RunDriver(std::stoi(argv[2]));
  if (argc >= 5 && std::string(argv[1]) == "transfer") return RunTransferDriver(std::stoi(argv[2]), argv[3], argv[4]);
  if (argc >= 4 && std::string(argv[1]) == "user_metrics") return RunUserMetricsDriver(std::stoi(argv[2]), argv[3]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
