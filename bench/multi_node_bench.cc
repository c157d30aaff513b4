#include "multi_node_bench.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "orrery/api.h"
#include "rate.h"

namespace {

int ClusterNoOp() { return 0; }
ORRERY_REMOTE(ClusterNoOp);

// The orrery CLI next to this program, run with `args`: what it printed.
std::string Cli(const std::string& args) {
  std::string cli = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "orrery";
  std::string output;
  FILE* pipe = popen((cli + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

std::string Match(const std::string& text, const char* pattern) {
  std::smatch match;
  return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

void SubmitAndGet(int count) {
  std::vector<orrery::ObjectRef<int>> refs;
  refs.reserve(count);
  for (int i = 0; i < count; ++i) refs.push_back(orrery::Task(ClusterNoOp).Remote());
  orrery::Get(refs);
}

}  // namespace

namespace orrery::bench {

void MeasureMultiNode(const Reporter& report) {
  char root[] = "/tmp/ob-XXXXXX";
  if (mkdtemp(root) == nullptr) return;
  std::string common = std::string(" --temp-dir ") + root + " --num-cpus 1 --node-ip-address 127.0.0.1";
  std::string head = Cli("start --head --port 0" + common);
  std::string address = Match(head, "GCS address: (\\S+)");
  std::string token = Match(head, "--token (\\S+)");
  if (!address.empty() && !token.empty()) {
    std::string join = "start --address " + address + " --token " + token + common;
    Cli(join);
    Cli(join);
    orrery::Config config;
    config.address = address;
    config.token = token;
    config.temp_dir = root;
    orrery::Init(config);
    SubmitAndGet(1000);  // workers start on every node
    report("multi_node_tasks_async", BestRate(1000, 5, [] { SubmitAndGet(1000); }), "tasks/s");
    orrery::Shutdown();
  } else {
    std::fprintf(stderr, "multi_node_tasks_async: could not start a head:\n%s\n", head.c_str());
  }
  Cli(std::string("stop --temp-dir ") + root);
  std::filesystem::remove_all(root);
}

}  // namespace orrery::bench
