#include "tests/chaos/chaos_cluster.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/integration/cli_cluster.h"
#include "tests/integration/temp_root.h"
#include "tests/testing/redis_server.h"  // PickPort

namespace orrery::chaos {

ChaosCluster::ChaosCluster(std::map<std::string, std::string> daemon_env)
    : daemon_env_(std::move(daemon_env)), root_(orrery::testing::MakeTempRoot()) {}

ChaosCluster::~ChaosCluster() {
  Stop();
  if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) std::filesystem::remove_all(root_);
}

::testing::AssertionResult ChaosCluster::Start(int raylets) {
  // A port of its own: the head's storage (and so a restarted GCS) is found by its port.
  orrery::testing::CliCluster head =
      orrery::testing::StartHead(root_, kNodeFlags, EnvPrefix(), orrery::testing::PickPort());
  if (head.token.empty()) return ::testing::AssertionFailure() << "the head did not start";
  address_ = head.address;
  token_ = head.token;
  head_node_ = head.node_id;
  join_ = head.join;
  for (int i = 1; i < raylets; ++i) {
    std::string node;
    if (::testing::AssertionResult joined = JoinRaylet(&node); !joined) return joined;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ChaosCluster::JoinRaylet(std::string* node_id) {
  orrery::testing::CliRun joined = orrery::testing::RunCli(join_, EnvPrefix());
  *node_id = orrery::testing::Match(joined.output, "Started a raylet \\(node ([0-9a-f]+)\\)");
  if (joined.exit_code != 0 || node_id->empty()) {
    return ::testing::AssertionFailure() << "a raylet did not join (exit code " << joined.exit_code
                                         << "): " << joined.output;
  }
  return ::testing::AssertionSuccess();
}

std::string ChaosCluster::Cli(const std::string& args) const {
  return orrery::testing::Cli(orrery::testing::WithTempDir(args, root_));
}

nlohmann::json ListRowsOf(const std::string& root, const std::string& kind_and_filters) {
  std::istringstream output(orrery::testing::Cli(
      orrery::testing::WithTempDir("list " + kind_and_filters + " --format json --limit 0", root)));
  std::string json;
  for (std::string line; std::getline(output, line);) {
    if (line.rfind("warning:", 0) != 0 && line.rfind("note:", 0) != 0) json += line + "\n";
  }
  nlohmann::json rows = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  return rows.is_array() ? rows : nlohmann::json::array();
}

std::map<std::string, std::string> ChaosCluster::DriverEnv() const {
  std::map<std::string, std::string> env = daemon_env_;
  env["ORRERY_ADDRESS"] = address_;
  env["ORRERY_TOKEN"] = token_;
  env["ORRERY_TEMP_DIR"] = root_;
  return env;
}

::testing::AssertionResult ChaosCluster::EveryNodeIdleWithin(int seconds) const {
  std::string busy;
  bool idle = orrery::testing::Eventually(
      [&] {
        busy.clear();
        nlohmann::json nodes = ListRows("nodes --filter state=ALIVE");
        if (nodes.empty()) busy = "(the cluster did not answer)";
        for (const auto& node : nodes) {
          // "CPU 0/2 special 0/1": each amount is used/total.
          std::istringstream resources(TextOf(node, "resources"));
          for (std::string word; resources >> word;) {
            size_t slash = word.find('/');
            if (slash != std::string::npos && word.substr(0, slash) != "0") {
              busy += " " + TextOf(node, "node_id") + " (" + TextOf(node, "resources") + ")";
              break;
            }
          }
        }
        return busy.empty();
      },
      seconds);
  if (idle) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "nodes still using resources after " << seconds << " s:" << busy;
}

std::string ChaosCluster::Stop() {
  if (stopped_) return "";
  stopped_ = true;
  return Cli("stop");
}

std::string ChaosCluster::EnvPrefix() const {
  std::string prefix;
  for (const auto& [name, value] : daemon_env_) prefix += name + "='" + value + "' ";
  return prefix;
}

}  // namespace orrery::chaos
