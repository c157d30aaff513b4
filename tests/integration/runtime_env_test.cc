// A job's runtime environment on a cluster of three raylets joined with the CLI, through the
// public API: Config.working_dir shipped to every node and the workers started in it, a program
// inside it run from each node's copy, environment variables of jobs, tasks and actors, and
// the errors a user meets (a folder over the limit, a variable the runtime owns, a node that
// cannot unpack).
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- remote code ----

std::string ReadText(std::string path) {
  std::ifstream in(path);
  if (!in) return "<missing>";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string CurrentDir() { return fs::current_path().string(); }

std::string Program() { return fs::read_symlink("/proc/self/exe").string(); }

std::string EnvVar(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "<unset>" : value;
}

class EnvReader {
 public:
  static EnvReader* Create() { return new EnvReader(); }
  std::string Get(std::string name) { return EnvVar(std::move(name)); }
};

ORRERY_REMOTE(ReadText, CurrentDir, Program, EnvVar, EnvReader::Create, &EnvReader::Get);

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string g_root;
orrery::testing::CliCluster g_cluster;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

orrery::Config ClusterConfig() {
  orrery::Config config;
  config.address = g_cluster.address;
  config.token = g_cluster.token;
  config.temp_dir = g_root;
  return config;
}

orrery::SchedulingStrategy On(const std::string& node) { return orrery::SchedulingStrategy::NodeAffinity(node); }

// Where a node keeps the working directories it unpacked.
std::string UnpackRoot(const std::string& node) {
  return fs::canonical(g_root + "/session_latest").string() + "/node_" + node + "/runtime_resources/working_dir";
}

class RuntimeEnvs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1");
    ASSERT_FALSE(g_cluster.token.empty());
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster));
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster));
  }
  static void TearDownTestSuite() {
    orrery::testing::StopClusterAndRemoveRoot(g_root);
  }
  void TearDown() override {
    if (orrery::IsInitialized()) orrery::Shutdown();
  }
  // A fresh folder for a working_dir.
  fs::path NewFolder(const std::string& name) {
    fs::path folder = fs::path(g_root) / name;
    fs::create_directories(folder);
    return folder;
  }
};

TEST_F(RuntimeEnvs, TheWorkingDirReachesEveryNodeAndTheJobsWorkersStartInIt) {
  fs::path folder = NewFolder("project");
  WriteText(folder / "data.txt", "weights v1");
  WriteText(folder / "config/model.json", "{\"layers\": 2}");
  orrery::Config config = ClusterConfig();
  config.working_dir = folder.string();
  orrery::Init(config);
  // What the driver changes after Init() is not what the job got: the folder was packed then.
  WriteText(folder / "data.txt", "weights v2");

  std::vector<std::string> nodes = orrery::GetAliveNodeIds();
  ASSERT_EQ(nodes.size(), 3u);
  std::vector<std::string> dirs;
  for (const std::string& node : nodes) {
    EXPECT_EQ(*orrery::Get(orrery::Task(ReadText).SetSchedulingStrategy(On(node)).Remote("data.txt")), "weights v1")
        << "on node " << node;
    EXPECT_EQ(*orrery::Get(orrery::Task(ReadText).SetSchedulingStrategy(On(node)).Remote("config/model.json")),
              "{\"layers\": 2}");
    std::string dir = *orrery::Get(orrery::Task(CurrentDir).SetSchedulingStrategy(On(node)).Remote());
    EXPECT_THAT(dir, StartsWith(UnpackRoot(node) + "/")) << "on node " << node;
    dirs.push_back(dir);
  }
  orrery::Shutdown();
  // Once its job has ended nothing uses the working_dir: every node deletes its copy.
  for (const std::string& dir : dirs) {
    EXPECT_TRUE(orrery::testing::Eventually([&dir] { return !fs::exists(dir); })) << dir << " is still there";
  }

  // The same content from another folder, in a new job: fetched again, into the same folders
  // (named by the content).
  fs::path copy = NewFolder("copy");
  fs::copy(folder, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  WriteText(copy / "data.txt", "weights v1");
  config.working_dir = copy.string();
  orrery::Init(config);
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(*orrery::Get(orrery::Task(CurrentDir).SetSchedulingStrategy(On(nodes[i])).Remote()), dirs[i]);
  }
}

// The child half of the next test: this program, copied into a working_dir and run from
// there, as a driver whose job ships that folder.
int RunAsDriverFromItsWorkingDir() {
  g_root = std::getenv("ORRERY_TEMP_DIR");
  fs::path self = fs::read_symlink("/proc/self/exe");
  orrery::Config config;
  config.working_dir = self.parent_path().parent_path().string();  // <working_dir>/bin/<program>
  orrery::Init(config);
  int wrong = 0;
  for (const std::string& node : orrery::GetAliveNodeIds()) {
    std::string program = *orrery::Get(orrery::Task(Program).SetSchedulingStrategy(On(node)).Remote());
    std::printf("node %s runs %s\n", node.c_str(), program.c_str());
    if (program.rfind(UnpackRoot(node) + "/", 0) != 0 || fs::path(program).filename() != self.filename()) ++wrong;
  }
  orrery::Shutdown();
  return wrong == 0 ? 0 : 1;
}

TEST_F(RuntimeEnvs, AProgramInsideTheWorkingDirRunsFromEachNodesCopy) {
  fs::path folder = NewFolder("app");
  fs::create_directories(folder / "bin");
  fs::path program = folder / "bin" / fs::read_symlink("/proc/self/exe").filename();
  fs::copy_file("/proc/self/exe", program);
  fs::permissions(program, fs::perms::owner_all);
  std::string command = "RUNTIME_ENV_TEST_CHILD=1 ORRERY_ADDRESS=" + g_cluster.address +
                        " ORRERY_TOKEN=" + g_cluster.token + " ORRERY_TEMP_DIR=" + g_root + " " + program.string() +
                        " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  // Each node ran the copy in its own unpacked working_dir.
  std::regex copy("node ([0-9a-f]{32}) runs \\S+/node_\\1/runtime_resources/working_dir/[0-9a-f]{64}/bin/" +
                  program.filename().string() + "\n");
  EXPECT_EQ(std::distance(std::sregex_iterator(output.begin(), output.end(), copy), std::sregex_iterator()), 3)
      << output;
}

TEST_F(RuntimeEnvs, JobTaskAndActorVariablesReachTheirWorkers) {
  orrery::Config config = ClusterConfig();
  config.runtime_env.env_vars = {{"MODE", "train"}, {"DATASET", "small"}};
  orrery::Init(config);
  EXPECT_EQ(*orrery::Get(orrery::Task(EnvVar).Remote("MODE")), "train");

  orrery::RuntimeEnv eval;
  eval.env_vars = {{"MODE", "eval"}};
  // The task's own value wins; the job's others stay.
  EXPECT_EQ(*orrery::Get(orrery::Task(EnvVar).SetRuntimeEnv(eval).Remote("MODE")), "eval");
  EXPECT_EQ(*orrery::Get(orrery::Task(EnvVar).SetRuntimeEnv(eval).Remote("DATASET")), "small");
  // A worker started for one environment does not serve another.
  EXPECT_EQ(*orrery::Get(orrery::Task(EnvVar).Remote("MODE")), "train");

  orrery::RuntimeEnv actor_env;
  actor_env.env_vars = {{"ROLE", "reader"}};
  auto reader = orrery::Actor(EnvReader::Create).SetRuntimeEnv(actor_env).Remote();
  EXPECT_EQ(*orrery::Get(reader.Task(&EnvReader::Get).Remote("ROLE")), "reader");
  EXPECT_EQ(*orrery::Get(reader.Task(&EnvReader::Get).Remote("MODE")), "train");
  EXPECT_EQ(*orrery::Get(orrery::Task(EnvVar).Remote("ROLE")), "<unset>");
}

TEST_F(RuntimeEnvs, AVariableTheRuntimeOwnsIsRefusedNamingIt) {
  orrery::RuntimeEnv token;
  token.env_vars = {{"ORRERY_TOKEN", "mine"}};
  try {
    orrery::Task(EnvVar).SetRuntimeEnv(token);
    ADD_FAILURE() << "SetRuntimeEnv took ORRERY_TOKEN";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("ORRERY_TOKEN"));
  }
  orrery::Config config = ClusterConfig();
  config.runtime_env.env_vars = {{"CUDA_VISIBLE_DEVICES", "0"}};
  try {
    orrery::Init(config);
    ADD_FAILURE() << "Init took CUDA_VISIBLE_DEVICES";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("CUDA_VISIBLE_DEVICES"));
  }
  EXPECT_FALSE(orrery::IsInitialized());
}

TEST_F(RuntimeEnvs, AWorkingDirOverTheLimitIsRefusedBeforeAnythingStarts) {
  fs::path folder = NewFolder("too_big");
  WriteText(folder / "blob.bin", std::string(2 << 20, 'x'));
  orrery::Config config = ClusterConfig();
  config.working_dir = folder.string();
  config.working_dir_max_bytes = 1 << 20;
  try {
    orrery::Init(config);
    ADD_FAILURE() << "Init took a working_dir over its limit";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr(folder.string()));
    EXPECT_THAT(e.what(), HasSubstr("1048576"));
    EXPECT_THAT(e.what(), HasSubstr("working_dir_max_bytes"));
  }
  EXPECT_FALSE(orrery::IsInitialized());
  config.working_dir = (folder / "missing").string();
  EXPECT_THROW(orrery::Init(config), orrery::OrreryException);
}

TEST_F(RuntimeEnvs, ANodeThatCannotUnpackFailsItsTasksNamingItselfAndTheCause) {
  fs::path folder = NewFolder("shipped");
  WriteText(folder / "data.txt", "ok");
  orrery::Config config = ClusterConfig();
  config.working_dir = folder.string();
  orrery::Init(config);
  // Break the driver's own node, before any worker of the job starts there: a file where the
  // node unpacks, so it cannot create its folder (root or not).
  const std::string broken = orrery::GetNodeId();
  std::string healthy;
  for (const std::string& node : orrery::GetAliveNodeIds()) {
    if (node != broken) healthy = node;
  }
  ASSERT_FALSE(healthy.empty());
  fs::path runtime_resources = fs::path(UnpackRoot(broken)).parent_path();
  ASSERT_FALSE(fs::exists(runtime_resources));
  WriteText(runtime_resources, "in the way");

  try {
    orrery::Get(orrery::Task(ReadText).SetSchedulingStrategy(On(broken)).Remote("data.txt"));
    ADD_FAILURE() << "a task ran on a node without the working_dir";
  } catch (const orrery::RuntimeEnvSetupError& e) {
    EXPECT_THAT(e.what(), HasSubstr(broken));
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1"));
    EXPECT_THAT(e.what(), HasSubstr("runtime_resources"));
  }
  auto actor = orrery::Actor(EnvReader::Create).SetSchedulingStrategy(On(broken)).Remote();
  try {
    orrery::Get(actor.Task(&EnvReader::Get).Remote("HOME"));
    ADD_FAILURE() << "an actor started on a node without the working_dir";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("runtime environment"));
    EXPECT_THAT(e.what(), HasSubstr(broken));
  }
  // Work for other nodes still passes through the broken one (the driver's raylet) unharmed:
  // only the node that starts a worker needs the working_dir.
  EXPECT_EQ(*orrery::Get(orrery::Task(ReadText).SetSchedulingStrategy(On(healthy)).Remote("data.txt")), "ok");
  EXPECT_EQ(*orrery::Get(orrery::Task(ReadText).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(healthy, /*soft=*/true)).Remote("data.txt")), "ok");
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (std::getenv("RUNTIME_ENV_TEST_CHILD") != nullptr) return RunAsDriverFromItsWorkingDir();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
