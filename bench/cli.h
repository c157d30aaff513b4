// The orrery CLI as orrery-microbench's cluster figures use it: clusters started, inspected and
// stopped as a user does it (`orrery start`, `orrery list`, `orrery stop`).
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace orrery::bench {

// The orrery CLI next to this program, run with `args`: what it printed (stdout and stderr).
inline std::string Cli(const std::string& args) {
  std::string cli = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "orrery";
  std::string output;
  FILE* pipe = popen((cli + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

// The first group of `pattern` in `text`, or "".
inline std::string Match(const std::string& text, const char* pattern) {
  std::smatch match;
  return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

// The pid a daemon of the newest session under `root` recorded ("<pid> <start time>") as `name`
// ("head", "raylet-<node id>"), or 0.
inline pid_t RecordedPid(const std::string& root, const std::string& name) {
  std::ifstream file(root + "/session_latest/pids/" + name + ".pid");
  pid_t pid = 0;
  file >> pid;
  return pid;
}

// A head started with the CLI (`orrery start --head --port 0 FLAGS`): its address and token,
// both empty when it did not start (`output` says why).
struct CliHead {
  std::string address;
  std::string token;
  std::string dashboard;  // HOST:PORT of its web dashboard, empty when it serves none
  std::string output;
  bool started() const { return !address.empty() && !token.empty(); }
  // The `orrery start` arguments that join one more raylet to it, with `flags`.
  std::string Join(const std::string& flags) const {
    return "start --address " + address + " --token " + token + " " + flags;
  }
};

inline CliHead StartHead(const std::string& flags) {
  CliHead head;
  head.output = Cli("start --head --port 0 " + flags);
  head.address = Match(head.output, "GCS address: (\\S+)");
  head.token = Match(head.output, "--token (\\S+)");
  head.dashboard = Match(head.output, "Dashboard: +https?://([^/\\s]+)/");
  return head;
}

}  // namespace orrery::bench
