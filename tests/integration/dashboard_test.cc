// The web dashboard of a real cluster, as a browser and a script use it: a head started with
// `orrery start --head` (TLS on, as by default) and two more raylets, the dashboard read over
// HTTPS trusting only the cluster CA, a job of this binary submitted from the CLI. And, in the
// Release pass, a real browser (Debian's Chromium, driven by tests/dashboard/browser_test.py).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

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
int Divide(int a, int b) {
  if (b == 0) throw std::invalid_argument("division by zero");
  return a / b;
}
class Counter {
 public:
  static Counter* Create() { return new Counter(); }
  int Add(int n) { return total_ += n; }

 private:
  int total_ = 0;
};
ORRERY_REMOTE(Square, Divide, Counter::Create, &Counter::Add);

// `driver N`: N Square tasks that finish, one Divide that fails, an actor called once.
int RunDriver(int tasks) {
  orrery::Init();
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < tasks; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  orrery::Get(squares);
  try {
    orrery::Get(orrery::Task(Divide).Remote(1, 0));
  } catch (const std::exception&) {
  }
  auto counter = orrery::Actor(Counter::Create).Remote();
  orrery::Get(counter.Task(&Counter::Add).Remote(2));
  printf("driver: %d squares done\n", tasks);
  orrery::Shutdown();
  return 0;
}

namespace {

using orrery::testing::CliRun;
using orrery::testing::Eventually;
using orrery::testing::Match;
using orrery::testing::RunCli;
using ::testing::HasSubstr;

std::string g_root;
orrery::testing::CliCluster g_cluster;
std::string g_dashboard;  // HOST:PORT
std::string g_ca_pem;

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }
CliRun Orrery(const std::string& args) { return RunCli(orrery::testing::WithTempDir(args, g_root)); }
std::string CaFile() { return g_root + "/tls/ca.crt"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One request to the dashboard over HTTPS, trusting only the cluster CA.
orrery::http::GetReply Call(const std::string& method, const std::string& path,
                            std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = "") {
  orrery::http::HttpCall call{method, path, std::move(headers), body};
  auto reply = orrery::http::Fetch(g_dashboard, call, {g_ca_pem, orrery::rpc::kClusterServerName});
  EXPECT_TRUE(reply.ok()) << reply.status();
  return reply.ok() ? *reply : orrery::http::GetReply{-1, reply.status().ToString(), "", {}};
}

// GET of the API as a script makes it, with the token.
nlohmann::json Api(const std::string& path) {
  auto reply = Call("GET", "/api/v0" + path, {{"Authorization", "Bearer " + g_cluster.token}});
  EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
  return nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
}

class Dashboard : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1");
    ASSERT_FALSE(g_cluster.token.empty());
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, ""));
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, ""));
    CliRun status = Orrery("status");
    g_dashboard = Match(status.output, "Dashboard: https://([0-9.]+:[0-9]+)/");
    ASSERT_FALSE(g_dashboard.empty()) << status.output;
    g_ca_pem = ReadFile(CaFile());
  }
  static void TearDownTestSuite() { orrery::testing::StopClusterAndRemoveRoot(g_root); }
};

TEST_F(Dashboard, WithoutTheTokenTheApiAnswers401AndAPageSendsToTheLogin) {
  auto api = Call("GET", "/api/v0/nodes");
  EXPECT_EQ(api.status, 401) << api.body;
  EXPECT_EQ(Call("GET", "/api/v0/nodes", {{"Authorization", "Bearer not-the-token"}}).status, 401);
  auto page = Call("GET", "/jobs");
  EXPECT_EQ(page.status, 302);
  EXPECT_EQ(page.headers.find("location")->second, "/login?next=/jobs");
  auto plain = orrery::http::Get(g_dashboard, "/login");
  EXPECT_FALSE(plain.ok() && plain->status == 200) << "the dashboard of a TLS cluster answered plain HTTP";
}

TEST_F(Dashboard, ALoginWithTheTokenOpensTheApiToTheSessionCookieOnly) {
  auto wrong = Call("POST", "/api/v0/login", {{"X-Orrery-Request", "1"}}, R"({"token": "guess"})");
  EXPECT_EQ(wrong.status, 401);
  auto login = Call("POST", "/api/v0/login", {{"X-Orrery-Request", "1"}},
                    nlohmann::json{{"token", g_cluster.token}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers.find("set-cookie")->second;
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, HasSubstr("Secure"));
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  auto nodes = Call("GET", "/api/v0/nodes", {{"Cookie", cookie}});
  EXPECT_EQ(nodes.status, 200) << nodes.body;
  auto overview = Call("GET", "/", {{"Cookie", cookie}});
  EXPECT_EQ(overview.status, 200);
  EXPECT_THAT(overview.body, HasSubstr("/static/overview.js"));
  // A page of another site that makes the browser post with the cookie is refused.
  auto foreign = Call("POST", "/api/v0/jobs/anything/stop",
                      {{"Cookie", cookie}, {"X-Orrery-Request", "1"}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(foreign.status, 403) << foreign.body;
}

TEST_F(Dashboard, OrreryDashboardPrintsALinkThatLogsInOnce) {
  CliRun run = Orrery("dashboard");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Dashboard: https://" + g_dashboard + "/"));
  EXPECT_THAT(run.output, HasSubstr(CaFile()));
  const std::string nonce = Match(run.output, "/login#once=([0-9a-f]+)");
  ASSERT_EQ(nonce.size(), 64u) << run.output;
  const std::string body = nlohmann::json{{"once", nonce}}.dump();
  auto first = Call("POST", "/api/v0/login", {{"X-Orrery-Request", "1"}}, body);
  EXPECT_EQ(first.status, 200) << first.body;
  const std::string cookie = first.headers.find("set-cookie")->second;
  EXPECT_EQ(Call("GET", "/api/v0/cluster", {{"Cookie", cookie.substr(0, cookie.find(';'))}}).status, 200);
  auto again = Call("POST", "/api/v0/login", {{"X-Orrery-Request", "1"}}, body);
  EXPECT_EQ(again.status, 401) << again.body;
}

TEST_F(Dashboard, TheApiListsWhatTheCliListsInTheSameJson) {
  nlohmann::json api = Api("/nodes");
  nlohmann::json cli = nlohmann::json::parse(Orrery("list nodes --format json").output, nullptr, false);
  ASSERT_TRUE(api.is_array()) << api;
  ASSERT_TRUE(cli.is_array()) << cli;
  ASSERT_EQ(api.size(), 3u) << api;
  std::set<std::string> api_ids, cli_ids;
  for (const auto& node : api) {
    api_ids.insert(node["node_id"].get<std::string>());
    EXPECT_EQ(node["state"], "ALIVE");
    EXPECT_TRUE(node["resources"]["CPU"]["total"].is_number()) << node;
  }
  for (const auto& node : cli) cli_ids.insert(node["node_id"].get<std::string>());
  EXPECT_EQ(api_ids, cli_ids);
  // Same columns, same order, whoever asks.
  std::vector<std::string> api_keys, cli_keys;
  for (const auto& [key, value] : api[0].items()) api_keys.push_back(key);
  for (const auto& [key, value] : cli[0].items()) cli_keys.push_back(key);
  EXPECT_EQ(api_keys, cli_keys);
  nlohmann::json cluster = Api("/cluster");
  EXPECT_EQ(cluster["gcs_address"], g_cluster.address);
}

TEST_F(Dashboard, AJobFromTheCliIsListedWithItsLogAndItsTasksActorAndFailureAreShown) {
  CliRun submit = Orrery("job submit --submission-id shown -- " + Self() + " driver 6");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  nlohmann::json job;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& row : Api("/jobs")) {
      if (row["submission_id"] == "shown" && row["state"] == "SUCCEEDED") job = row;
    }
    return !job.is_null();
  }, 60)) << Api("/jobs");
  nlohmann::json log = Api("/jobs/shown/logs");
  EXPECT_THAT(log["text"].get<std::string>(), HasSubstr("driver: 6 squares done")) << log;
  EXPECT_TRUE(log["ended"].get<bool>()) << log;

  nlohmann::json summary = Api("/tasks/summary");
  bool squares = false;
  for (const auto& row : summary) squares |= row["function"] == "Square" && row["finished"] == 6;
  EXPECT_TRUE(squares) << summary;
  nlohmann::json failed = Api("/tasks?state=FAILED&limit=10");
  ASSERT_GE(failed["total"].get<int>(), 1) << failed;
  EXPECT_THAT(failed["rows"][0]["error_message"].get<std::string>(), HasSubstr("division by zero")) << failed;

  nlohmann::json actors = Api("/actors");
  ASSERT_FALSE(actors.empty()) << actors;
  const std::string actor_id = actors[0]["actor_id"];
  nlohmann::json actor = Api("/actors/" + actor_id);
  EXPECT_EQ(actor["actor_id"], actor_id);
  ASSERT_TRUE(actor["tasks"].is_array()) << actor;
  bool added = false;
  for (const auto& task : actor["tasks"]) added |= task["actor_id"] == actor_id && task["kind"] == "ACTOR_TASK";
  EXPECT_TRUE(added) << actor;

  nlohmann::json timeline = Api("/timeline?job_id=" + job["job_id"].get<std::string>());
  int runs = 0;
  for (const auto& event : timeline["traceEvents"]) runs += event["ph"] == "X";
  EXPECT_GE(runs, 7) << timeline;
  EXPECT_EQ(Call("GET", "/api/v0/actors/ffff", {{"Authorization", "Bearer " + g_cluster.token}}).status, 404);
}

TEST_F(Dashboard, ANodesLogsAreListedAndReadFromTheirEnd) {
  nlohmann::json nodes = Api("/nodes");
  const std::string node = nodes[0]["node_id"];
  nlohmann::json files = Api("/logs?node_id=" + node);
  ASSERT_TRUE(files.is_array() && !files.empty()) << files;
  std::string raylet_log;
  int64_t size = 0;
  for (const auto& file : files) {
    if (file["file"].get<std::string>().rfind("raylet", 0) == 0) {
      raylet_log = file["file"];
      size = file["size"];
    }
  }
  ASSERT_FALSE(raylet_log.empty()) << files;
  nlohmann::json tail = Api("/logs/" + node + "/" + raylet_log);
  EXPECT_FALSE(tail["text"].get<std::string>().empty()) << tail;
  EXPECT_GE(tail["next_offset"].get<int64_t>(), size);
  nlohmann::json more = Api("/logs/" + node + "/" + raylet_log + "?offset=" + std::to_string(tail["next_offset"].get<int64_t>()));
  EXPECT_EQ(more["restarted"], false) << more;
  nlohmann::json objects = Api("/objects");
  EXPECT_TRUE(objects["summary"].is_object()) << objects;
  EXPECT_TRUE(objects["objects"].is_array()) << objects;
  EXPECT_EQ(objects["objects_total"], objects["objects"].size()) << objects;
  // Per process a count, not the list (the page reads the largest references only).
  for (const auto& node : objects["nodes"]) {
    for (const auto& process : node["processes"]) EXPECT_FALSE(process.contains("references")) << objects;
  }
  EXPECT_LE(Api("/objects?limit=1")["objects"].size(), 1u);
  auto bad_limit = Call("GET", "/api/v0/objects?limit=many", {{"Authorization", "Bearer " + g_cluster.token}});
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_THAT(bad_limit.body, HasSubstr("limit"));
}

TEST_F(Dashboard, AJobStoppedFromTheApiStops) {
  CliRun submit = Orrery("job submit --no-wait --submission-id long -- sleep 600");
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& row : Api("/jobs")) {
      if (row["submission_id"] == "long" && row["state"] == "RUNNING") return true;
    }
    return false;
  }, 60)) << Api("/jobs");
  auto stop = Call("POST", "/api/v0/jobs/long/stop", {{"Authorization", "Bearer " + g_cluster.token}, {"X-Orrery-Request", "1"}});
  ASSERT_EQ(stop.status, 200) << stop.body;
  EXPECT_THAT(stop.body, HasSubstr("\"stopped\":true"));
  EXPECT_THAT(Orrery("job status long").output, HasSubstr("STOPPED"));
}

TEST_F(Dashboard, AHeadWhoseDashboardPortIsTakenFailsToStartNamingIt) {
  const std::string port = g_dashboard.substr(g_dashboard.rfind(':') + 1);
  std::string other_root = orrery::testing::MakeTempRoot();
  CliRun start = RunCli("start --head --port 0 --node-ip-address 127.0.0.1 --dashboard-port " + port +
                        " --temp-dir " + other_root);
  EXPECT_NE(start.exit_code, 0) << start.output;
  EXPECT_THAT(start.output, HasSubstr("port " + port + " is already in use")) << start.output;
  EXPECT_THAT(start.output, HasSubstr("--dashboard-port")) << start.output;
  RunCli("stop --temp-dir " + other_root);
  fs::remove_all(other_root);
}

// A real browser: logs in, sees the three nodes, watches a job submitted from the CLI finish,
// opens an actor, reads a failed task's error, opens the timeline (tests/dashboard/README.md).
// With ORRERY_DASHBOARD_SCREENSHOTS=DIR it keeps a picture of each page there.
TEST_F(Dashboard, ARealBrowserLogsInAndFollowsAJob) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "Release pass only (a browser)";
#endif
  std::string script = std::string(ORRERY_SOURCE_DIR) + "/tests/dashboard/browser_test.py";
  std::string submit = std::string(ORRERY_CLI_PATH) + " job submit --temp-dir " + g_root + " -- " + Self() + " driver 4";
  const char* screenshots = std::getenv("ORRERY_DASHBOARD_SCREENSHOTS");
  std::string command = "/usr/bin/python3 " + script + " --url https://" + g_dashboard + "/ --token " +
                        g_cluster.token + " --ca-file " + CaFile() + " --nodes 3 --submit-command '" + submit +
                        "' --job-entrypoint-substring 'driver 4' --failed-error-substring 'division by zero'" +
                        " --timeout-s 90" + (screenshots ? std::string(" --screenshots ") + screenshots : "") + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  EXPECT_THAT(output, HasSubstr("PASS")) << output;
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 3 && std::string(argv[1]) == "driver") return RunDriver(std::stoi(argv[2]));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
