// A cluster joined as a user joins one: `orrery start --head`, then `orrery start --address ...
// --token ...` for each further raylet, each a separate process with its own ports, store and
// session folder. The test binary defines ORRERY_CLI_PATH.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace orrery::testing {

struct CliRun {
  std::string output;  // stdout and stderr
  int exit_code = -1;  // -1: it did not exit normally
};

// Runs the orrery CLI with `args` (and `env`, "NAME=value ..."): its output and exit code.
inline CliRun RunCli(const std::string& args, const std::string& env = "") {
  std::string command = env + " " + std::string(ORRERY_CLI_PATH) + " " + args + " 2>&1";
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) run.output.append(buffer, n);
  int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

// `args` with `--temp-dir ROOT` added (the CLI then finds the test's cluster through its temp
// root), before any " -- " that starts a driver's command line.
inline std::string WithTempDir(const std::string& args, const std::string& root) {
  size_t dashes = args.find(" -- ");
  if (dashes == std::string::npos) return args + " --temp-dir " + root;
  return args.substr(0, dashes) + " --temp-dir " + root + args.substr(dashes);
}

// Runs the orrery CLI with `args` (and `env`, "NAME=value ..."); its stdout and stderr.
inline std::string Cli(const std::string& args, const std::string& env = "") { return RunCli(args, env).output; }

// Polls `condition` every 50 ms for up to `timeout_s`; whether it came true. For state that
// another process changes in its own time (a report each second), with a deadline.
template <typename Condition>
bool Eventually(Condition condition, int timeout_s = 30) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// The first group of `pattern` in `text`, or "".
inline std::string Match(const std::string& text, const std::string& pattern) {
  std::smatch match;
  return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

struct CliCluster {
  std::string address;
  std::string token;
  std::string node_id;  // the head's raylet
  std::string ca_hash;  // the cluster CA's fingerprint (sha256:...), for joins from another root
  // The `start --address ... --token ...` arguments that join another raylet (with the flags
  // the head was given, less --head and --port).
  std::string join;
};

// Starts a head under `root` with `flags` (and `env`) on GCS port `port` (0: any free one, and
// then its storage is memory); ADD_FAILUREs when it does not start.
inline CliCluster StartHead(const std::string& root, const std::string& flags, const std::string& env = "",
                            int port = 0) {
  std::string common = " --temp-dir " + root + " " + flags;
  std::string head = Cli("start --head --port " + std::to_string(port) + common, env);
  CliCluster cluster;
  cluster.address = Match(head, "GCS address: (\\S+)");
  cluster.token = Match(head, "--token (\\S+)");
  cluster.node_id = Match(head, "Node id: +([0-9a-f]+)");
  cluster.ca_hash = Match(head, "--ca-hash (sha256:[0-9a-f]+)");
  EXPECT_FALSE(cluster.address.empty()) << head;
  EXPECT_FALSE(cluster.token.empty()) << head;
  cluster.join = "start --address " + cluster.address + " --token " + cluster.token + common;
  return cluster;
}

// Joins one more raylet (`extra`: more flags for it); whether it started.
inline ::testing::AssertionResult JoinRaylet(const CliCluster& cluster, const std::string& extra = "") {
  std::string out = Cli(cluster.join + " " + extra);
  if (out.find("Started a raylet") == std::string::npos) return ::testing::AssertionFailure() << out;
  return ::testing::AssertionSuccess();
}

// The ALIVE nodes `orrery status` lists.
inline std::vector<std::string> AliveNodes(const std::string& root) {
  std::vector<std::string> nodes;
  std::string status = Cli("status --temp-dir " + root);
  std::regex alive("([0-9a-f]{32}) +\\S+ +ALIVE");
  for (auto it = std::sregex_iterator(status.begin(), status.end(), alive); it != std::sregex_iterator(); ++it) {
    nodes.push_back((*it)[1].str());
  }
  return nodes;
}

// The pid a daemon of the newest session under `root` recorded as `name` ("gcs", "head",
// "raylet-<node id>"), or 0.
inline pid_t DaemonPid(const std::string& root, const std::string& name) {
  std::ifstream pid_file(root + "/session_latest/pids/" + name + ".pid");
  pid_t pid = 0;
  pid_file >> pid;
  return pid;
}

// The pid of the raylet of `node` in the session under `root`, or 0.
inline pid_t RayletPid(const std::string& root, const std::string& node) { return DaemonPid(root, "raylet-" + node); }

// Stops the raylet of `node` (SIGTERM) and waits until its process is gone.
inline ::testing::AssertionResult StopRaylet(const std::string& root, const std::string& node) {
  pid_t raylet = RayletPid(root, node);
  if (raylet <= 0) return ::testing::AssertionFailure() << "no raylet pid for node " << node;
  if (kill(raylet, SIGTERM) != 0) return ::testing::AssertionFailure() << "cannot signal raylet " << raylet;
  for (int i = 0; i < 1000 && kill(raylet, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (kill(raylet, 0) == 0) return ::testing::AssertionFailure() << "raylet " << raylet << " did not stop";
  return ::testing::AssertionSuccess();
}

// Stops everything running under `root` (expecting something to stop) and removes the root,
// unless ORRERY_TEST_KEEP_DIR is set: a test suite's cluster at its end.
inline void StopClusterAndRemoveRoot(const std::string& root) {
  std::string stopped = Cli("stop --temp-dir " + root);
  EXPECT_NE(stopped.find("Stopped"), std::string::npos) << stopped;
  if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) std::filesystem::remove_all(root);
}

}  // namespace orrery::testing
