#include "gcs_restart_bench.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actor_bench.h"
#include "cli.h"
#include "multi_node_bench.h"
#include "orrery/api.h"
#include "placement_group_bench.h"
#include "rate.h"

namespace {

// Holds no CPU once placed (an actor's default); answers with its process, so that an actor
// restarted behind our back would show.
class RecoveryProbe {
 public:
  static RecoveryProbe* Create() { return new RecoveryProbe(); }
  int Pid() { return getpid(); }
};
ORRERY_REMOTE(RecoveryProbe::Create, &RecoveryProbe::Pid);

using orrery::bench::Cli;
using orrery::bench::Clock;
using orrery::bench::Seconds;

constexpr int kNodes = 3;
constexpr int kActors = 100;
constexpr int kRecoveries = 3;
// How long each kill keeps the GCS down before its supervisor may start it again: long enough
// for every raylet and the driver to have found it gone and be backing off their reconnects, as
// after a crash. (The supervisor alone would restart it after 100 ms.) The figure depends on it:
// here a 100 ms outage gave about 0.15 s, 1 s about 0.4 s, 3 s about 1.4 s, as the clients'
// reconnect back-off grows with the outage.
constexpr auto kOutage = std::chrono::seconds(1);
// Every wait has this deadline: a GCS that does not come back fails the figure, not the run.
constexpr auto kDeadline = std::chrono::seconds(30);
constexpr int kDeadlineMs = 30'000;

using Failure = std::runtime_error;

// Polls `condition` every `period` until it holds (true) or `timeout` passes (false).
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::milliseconds period, Clock::duration timeout = kDeadline) {
  auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(period);
  }
  return true;
}

// A temp-dir root of the bench's own. On destruction whatever still runs under it is stopped
// (`orrery stop`, which deletes the GCS storage its heads recorded too) and the folder deleted.
class TempRoot {
 public:
  TempRoot() {
    char path[] = "/tmp/ogcs-XXXXXX";
    if (mkdtemp(path) == nullptr) throw Failure("cannot make a temp dir under /tmp");
    path_ = path;
  }
  ~TempRoot() {
    Cli("stop --temp-dir " + path_);
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Shuts the driver down when it goes out of scope (declared after Init(), before any handle).
struct ShutdownOnExit {
  ~ShutdownOnExit() {
    try {
      if (orrery::IsInitialized()) orrery::Shutdown();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "orrery::Shutdown: %s\n", e.what());
    }
  }
};

// A TCP port nobody listens on now (a head is started on it at once; a lost race fails that
// start, which is retried on another port).
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// The state letter of /proc/<pid>/stat ('T' stopped, 'Z' zombie, ...); 0 when it is gone.
char ProcessState(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}

// The GCS orrery-head `head` runs: its only child; 0 while it has none.
pid_t SupervisedGcs(pid_t head) {
  std::ifstream file("/proc/" + std::to_string(head) + "/task/" + std::to_string(head) + "/children");
  pid_t child = 0;
  file >> child;
  return child;
}

// The nodes ALIVE in the GCS's view (`orrery list nodes`, a fresh client: none of the back-off
// of the clients that saw the GCS go).
int AliveNodes(const std::string& root) {
  static const std::regex alive("[0-9a-f]{32} +\\S+ +ALIVE");
  std::string nodes = Cli("list nodes --temp-dir " + root);
  return static_cast<int>(
      std::distance(std::sregex_iterator(nodes.begin(), nodes.end(), alive), std::sregex_iterator()));
}

// A head on a free port whose GCS keeps its tables in RocksDB (synced in batches, so under
// orrery-head), then two raylets joined to it, all with the CLI as a user starts them; and this
// process's driver in that cluster.
void StartDurableClusterAndDriver(const std::string& root) {
  std::string common = " --temp-dir " + root + " --num-cpus 1 --node-ip-address 127.0.0.1 --object-store-memory " +
                       std::to_string(512LL << 20);
  std::string head, address, token;
  for (int attempt = 0; attempt < 3 && token.empty(); ++attempt) {
    head = Cli("start --head --port " + std::to_string(PickFreePort()) + " --gcs-storage rocksdb:" + root +
               "/gcs_storage --gcs-storage-sync batch" + common);
    address = orrery::bench::Match(head, "GCS address: (\\S+)");
    token = orrery::bench::Match(head, "--token (\\S+)");
  }
  if (token.empty()) throw Failure("could not start a head:\n" + head);
  for (int i = 1; i < kNodes; ++i) {
    std::string joined = Cli("start --address " + address + " --token " + token + common);
    if (joined.find("Started a raylet") == std::string::npos) throw Failure("could not join a raylet:\n" + joined);
  }
  orrery::Config config;
  config.address = address;
  config.token = token;
  config.temp_dir = root;
  orrery::Init(config);
}

// How many times the raylets of the cluster under `root` registered again with a restarted GCS
// (reporting what they host, for it to reconcile): the lines their logs have for it.
int RegistrationsAgain(const std::string& root) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/session_latest/logs", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("raylet-", 0) != 0 || entry.path().extension() != ".log") continue;
    std::ifstream log(entry.path());
    for (std::string line; std::getline(log, line);) {
      count += line.find("registered again with the GCS") != std::string::npos;
    }
  }
  return count;
}

// The GCS killed (SIGKILL) while its supervisor, orrery-head, is held stopped (SIGSTOP), so that
// the GCS stays down until Restart() lets the supervisor go on (SIGCONT): the supervisor then
// starts it again after its back-off, as after any crash (we do not start the GCS ourselves).
// The destructor lets the supervisor go on in any case.
class GcsOutage {
 public:
  explicit GcsOutage(const std::string& root)
      : head_(orrery::bench::RecordedPid(root, "head")), registrations_before_(RegistrationsAgain(root)) {
    if (head_ <= 0 || (gcs_ = SupervisedGcs(head_)) <= 0) throw Failure("no orrery-head running a GCS under " + root);
    // Stopped before the kill, so that it cannot reap and restart the GCS in between.
    kill(head_, SIGSTOP);
    held_ = true;
    if (!WaitUntil([&] { return ProcessState(head_) == 'T'; }, std::chrono::milliseconds(1))) {
      throw Failure("orrery-head did not stop");
    }
    kill(gcs_, SIGKILL);
    // Dead once a zombie (its parent, stopped, cannot reap it yet): its port is closed.
    if (!WaitUntil([&] { return ProcessState(gcs_) == 'Z' || ProcessState(gcs_) == 0; },
                   std::chrono::milliseconds(1))) {
      throw Failure("the GCS did not die of SIGKILL");
    }
  }
  ~GcsOutage() {
    if (held_) kill(head_, SIGCONT);
  }
  GcsOutage(const GcsOutage&) = delete;
  GcsOutage& operator=(const GcsOutage&) = delete;

  // Lets the supervisor go on, and returns once it has started a new GCS (its child, polled
  // every millisecond): the time of that start, give or take the poll.
  Clock::time_point Restart() {
    kill(head_, SIGCONT);
    held_ = false;
    Clock::time_point started;
    bool restarted = WaitUntil(
        [&] {
          pid_t child = SupervisedGcs(head_);
          if (child <= 0 || child == gcs_) return false;
          started = Clock::now();
          return true;
        },
        std::chrono::milliseconds(1));
    if (!restarted) throw Failure("orrery-head did not start the GCS again");
    return started;
  }
  // RegistrationsAgain before the kill.
  int registrations_before() const { return registrations_before_; }

 private:
  pid_t head_;
  int registrations_before_;
  pid_t gcs_ = 0;
  bool held_ = false;
};

// From a GCS start at `started`: the seconds until every raylet has registered again with it
// (after `registrations_before`, RegistrationsAgain before the kill) and all nodes are ALIVE
// in its view, and a new actor has answered its first call. Where the time went goes to
// stderr, headed `what`.
double SecondsToRecover(const std::string& root, int registrations_before, Clock::time_point started,
                        const char* what) {
  // The nodes are watched meanwhile: their logs, and a fresh client (`orrery list nodes`).
  double nodes = -1;
  std::thread watcher([&] {
    auto all_back = [&] {
      return RegistrationsAgain(root) >= registrations_before + kNodes && AliveNodes(root) == kNodes;
    };
    if (WaitUntil(all_back, std::chrono::milliseconds(10))) {
      nodes = Seconds(Clock::now() - started);
    }
  });
  struct JoinOnExit {
    std::thread& thread;
    ~JoinOnExit() {
      if (thread.joinable()) thread.join();
    }
  } join{watcher};
  // The creation is asked for at once, as by a workload that waits on the GCS, and again each
  // time it is refused (the driver does not retry it by itself while the GCS is unreachable).
  std::optional<orrery::ActorHandle<RecoveryProbe>> probe;
  int refused = 0;
  std::string refusal;
  while (!probe.has_value()) {
    try {
      probe = orrery::Actor(RecoveryProbe::Create).Remote();
    } catch (const orrery::OrreryException& e) {
      if (Clock::now() - started > kDeadline) throw;
      if (refused++ == 0) refusal = e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  double registered = Seconds(Clock::now() - started);
  orrery::Get(probe->Task(&RecoveryProbe::Pid).Remote(), kDeadlineMs);
  double answered = Seconds(Clock::now() - started);
  probe->Kill();
  watcher.join();
  if (nodes < 0) {
    throw Failure("the nodes have not all registered again and are ALIVE after 30 s:\n" +
                  Cli("status --temp-dir " + root));
  }
  std::fprintf(stderr,
               "%s: nodes registered again and ALIVE at %.3f s; a new actor registered at %.3f s (%d refusals "
               "before%s%s), "
               "answered at %.3f s\n",
               what, nodes, registered, refused, refused > 0 ? "; the first: " : "", refusal.c_str(), answered);
  return std::max(nodes, answered);
}

// tasks_async_gcs_up, tasks_async_gcs_down and tasks_during_gcs_outage_ratio; leaves the GCS up
// and every client reconnected to it.
void MeasureTasksDuringOutage(const std::string& root, const orrery::bench::Reporter& report) {
  // The best of many rounds, not of 5: a round takes about 10 ms here, and the ratio of two such
  // figures is noise unless each is the floor of many. The rounds alternate: up, down (an
  // outage), up, down (another), up; so that a machine busier at one moment than another weighs
  // on both figures alike. 36 rounds each.
  constexpr int kOutages = 2;
  auto rate = [](int rounds) {
    return orrery::bench::BestRate(1000, rounds, [] { orrery::bench::SubmitAndGet(1000); });
  };
  orrery::bench::SubmitAndGet(1000);  // workers start on every node
  double up = rate(12);
  double down = 0;
  for (int i = 0; i < kOutages; ++i) {
    {
      GcsOutage outage(root);
      down = std::max(down, rate(18));  // from the kill on
      // Not counted: a recovery like the measured ones.
      SecondsToRecover(root, outage.registrations_before(), outage.Restart(),
                       "tasks_during_gcs_outage_ratio (a recovery, not counted)");
    }
    up = std::max(up, rate(12));
  }
  report("tasks_async_gcs_up", up, "tasks/s");
  report("tasks_async_gcs_down", down, "tasks/s");
  report("tasks_during_gcs_outage_ratio", down / up, "ratio");
}

// Every actor answers from the process it had before the GCS restarts; what differs, on stderr.
void CheckActorsKept(const std::vector<orrery::ActorHandle<RecoveryProbe>>& actors, const std::vector<int>& pids) {
  int moved = 0, lost = 0;
  for (size_t i = 0; i < actors.size(); ++i) {
    try {
      if (*orrery::Get(actors[i].Task(&RecoveryProbe::Pid).Remote(), kDeadlineMs) != pids[i]) ++moved;
    } catch (const orrery::OrreryException&) {
      ++lost;
    }
  }
  if (moved + lost > 0) {
    std::fprintf(stderr, "after the GCS restarts, %d of %d actors answer from another process and %d not at all\n",
                 moved, kActors, lost);
  }
}

struct StorageRates {
  double actors = 0;
  double groups = 0;
};

// actor_creation_per_s and placement_group_create_removal (those asked for) on a fresh local
// cluster shaped as orrery-microbench's own (2 CPUs, {custom: 100}), its GCS keeping its tables
// in RocksDB (synced in batches, under orrery-head) or in memory.
StorageRates MeasureOnStorage(bool rocksdb, bool actors, bool groups) {
  TempRoot root;
  orrery::Config config;
  config.temp_dir = root.path();
  std::vector<std::string> storage = {"--gcs-storage", "memory"};
  if (rocksdb) storage = {"--gcs-storage", "rocksdb:" + root.path() + "/gcs_storage", "--gcs-storage-sync", "batch"};
  std::string store_bytes = std::to_string(1LL << 30);
  config.head_args = {"--num-cpus", "2", "--object-store-memory", store_bytes, "--resources", "{\"custom\": 100}"};
  config.head_args.insert(config.head_args.end(), storage.begin(), storage.end());
  orrery::Init(config);
  ShutdownOnExit driver;
  StorageRates rates;
  if (actors) rates.actors = orrery::bench::ActorCreationRate();
  if (groups) rates.groups = orrery::bench::PlacementGroupCreateRemovalRate();
  return rates;
}

}  // namespace

namespace orrery::bench {

void MeasureGcsRestart(const Reporter& report) {
  bool tasks = Wanted({"tasks_async_gcs_up", "tasks_async_gcs_down", "tasks_during_gcs_outage_ratio"});
  bool recovery = Wanted({"gcs_recovery_s"});
  if (!tasks && !recovery) return;
  try {
    TempRoot root;
    StartDurableClusterAndDriver(root.path());
    ShutdownOnExit driver;
    std::vector<orrery::ActorHandle<RecoveryProbe>> actors;
    for (int i = 0; i < kActors; ++i) actors.push_back(orrery::Actor(RecoveryProbe::Create).Remote());
    std::vector<int> pids;
    for (const auto& actor : actors)
      pids.push_back(*orrery::Get(actor.Task(&RecoveryProbe::Pid).Remote(), kDeadlineMs));

    if (tasks) MeasureTasksDuringOutage(root.path(), report);
    if (recovery) {
      std::vector<double> seconds;
      for (int i = 0; i < kRecoveries; ++i) {
        GcsOutage outage(root.path());
        std::this_thread::sleep_for(kOutage);
        seconds.push_back(
            SecondsToRecover(root.path(), outage.registrations_before(), outage.Restart(), "gcs_recovery_s"));
      }
      std::sort(seconds.begin(), seconds.end());
      report("gcs_recovery_s", seconds[seconds.size() / 2], "s");  // the median
    }
    CheckActorsKept(actors, pids);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gcs_recovery_s, tasks_during_gcs_outage_ratio: %s\n", e.what());
  }
}

void MeasureGcsStorageCost(const Reporter& report) {
  bool actors = Wanted(
      {"actor_creation_per_s_memory", "actor_creation_per_s_rocksdb", "actor_creation_per_s_rocksdb_over_memory"});
  bool groups = Wanted({"placement_group_create_removal_memory", "placement_group_create_removal_rocksdb",
                        "placement_group_create_removal_rocksdb_over_memory"});
  if (!actors && !groups) return;
  try {
    // Memory, RocksDB, RocksDB, memory: a machine busier at one time than another weighs on
    // both alike. Each figure is the best of its two clusters.
    StorageRates memory, rocksdb;
    for (bool on_rocksdb : {false, true, true, false}) {
      StorageRates rates = MeasureOnStorage(on_rocksdb, actors, groups);
      StorageRates& best = on_rocksdb ? rocksdb : memory;
      best.actors = std::max(best.actors, rates.actors);
      best.groups = std::max(best.groups, rates.groups);
    }
    if (actors) {
      report("actor_creation_per_s_memory", memory.actors, "actors/s");
      report("actor_creation_per_s_rocksdb", rocksdb.actors, "actors/s");
      report("actor_creation_per_s_rocksdb_over_memory", rocksdb.actors / memory.actors, "ratio");
    }
    if (groups) {
      report("placement_group_create_removal_memory", memory.groups, "groups/s");
      report("placement_group_create_removal_rocksdb", rocksdb.groups, "groups/s");
      report("placement_group_create_removal_rocksdb_over_memory", rocksdb.groups / memory.groups, "ratio");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "actor_creation_per_s_rocksdb_over_memory, placement_group_create_removal_rocksdb_over_memory: %s\n",
                 e.what());
  }
}

}  // namespace orrery::bench
