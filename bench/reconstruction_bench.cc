#include "reconstruction_bench.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "orrery/api.h"
#include "orrery/object_view.h"
#include "rate.h"

namespace {

std::vector<uint8_t> MakeGiB(int64_t size) { return std::vector<uint8_t>(size, 9); }
// Reads the object behind the (nested, so not resolved before the call) ref in place.
int64_t ReadInPlace(std::vector<orrery::ObjectRef<std::vector<uint8_t>>> refs) {
  return static_cast<int64_t>(orrery::GetView(refs[0]).size());
}
ORRERY_REMOTE(MakeGiB, ReadInPlace);

constexpr int64_t kGiB = 1LL << 30;
constexpr int kRounds = 3;

using orrery::bench::Cli;
using orrery::bench::Clock;
using orrery::bench::RecordedPid;
using orrery::bench::Seconds;
using Ref = orrery::ObjectRef<std::vector<uint8_t>>;

// Seconds until a reader on the "reader" node has read `object` in place (whatever it takes to
// have it there: running its task, or making it again).
double SecondsToRead(const Ref& object, Clock::time_point start) {
  orrery::Get(orrery::Task(ReadInPlace).SetResource("reader", 1).Remote(std::vector<Ref>{object}));
  return Seconds(Clock::now() - start);
}

// The node id `orrery start --address` printed, or "".
std::string NodeIdIn(const std::string& output) {
  return orrery::bench::Match(output, "Started a raylet \\(node ([0-9a-f]+)\\)");
}

bool Alive(const std::string& root, const std::string& node) {
  std::string nodes = Cli("list nodes --temp-dir " + root);
  size_t at = nodes.find(node);
  return at != std::string::npos && nodes.find("ALIVE", at) < nodes.find('\n', at);
}

// One round: a 1 GiB result made on a node that is then killed (SIGKILL); once the GCS has
// declared that node dead, the seconds until the reader has read it (the owner runs its task
// again on the live "maker" node). Negative when the round could not be set up.
double SecondsToReadLost(const std::string& root, const orrery::bench::CliHead& head, const std::string& common) {
  std::string victim = NodeIdIn(Cli(head.Join(common + " --resources '{\"maker\": 1}'")));
  if (victim.empty()) return -1;
  Ref made = orrery::Task(MakeGiB)
                 .SetResource("maker", 1)
                 .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(victim, /*soft=*/true))
                 .Remote(kGiB);
  orrery::Wait(std::vector<Ref>{made}, 1, -1);
  pid_t raylet = RecordedPid(root, "raylet-" + victim);
  if (raylet <= 0 || kill(raylet, SIGKILL) != 0) return -1;
  for (int i = 0; i < 600 && Alive(root, victim); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return SecondsToRead(made, Clock::now());
}

}  // namespace

namespace orrery::bench {

void MeasureReconstruction(const Reporter& report) {
  if (!Wanted({"reconstruction_1gib_s", "rerun_1gib_s", "reconstruction_1gib_over_rerun"})) return;
  char root[] = "/tmp/orc-XXXXXX";
  if (mkdtemp(root) == nullptr) return;
  // The driver's node, a live node that makes and reads (one CPU for each), and in each round a
  // node that dies with the only copy of a 1 GiB result. Health checks every 200 ms.
  std::string common = std::string(" --temp-dir ") + root + " --node-ip-address 127.0.0.1 --object-store-memory " +
                       std::to_string(5 * kGiB / 2);
  setenv("ORRERY_HEALTH_CHECK_PERIOD_MS", "200", 1);
  CliHead head = StartHead(common + " --num-cpus 1");
  unsetenv("ORRERY_HEALTH_CHECK_PERIOD_MS");
  if (head.started() && Cli(head.Join(common + " --num-cpus 2 --resources '{\"maker\": 1, \"reader\": 1}'"))
                                .find("Started a raylet") != std::string::npos) {
    orrery::Config config;
    config.address = head.address;
    config.token = head.token;
    config.temp_dir = root;
    orrery::Init(config);
    auto direct = [] {
      auto start = Clock::now();
      // The same task, run directly on the live node.
      Ref made = orrery::Task(MakeGiB).SetResource("maker", 1).Remote(kGiB);
      return SecondsToRead(made, start);
    };
    direct();  // workers start
    std::vector<double> rerun, rebuilt;
    for (int r = 0; r < kRounds; ++r) {
      rerun.push_back(direct());
      double lost = SecondsToReadLost(root, head, common);
      if (lost > 0) rebuilt.push_back(lost);
    }
    orrery::Shutdown();
    if (!rebuilt.empty()) {
      double floor = *std::min_element(rerun.begin(), rerun.end());
      double best = *std::min_element(rebuilt.begin(), rebuilt.end());
      report("rerun_1gib_s", floor, "s");
      report("reconstruction_1gib_s", best, "s");
      report("reconstruction_1gib_over_rerun", best / floor, "ratio");
    } else {
      std::fprintf(stderr, "reconstruction_1gib_s: no round could kill a node holding the object\n");
    }
  } else {
    std::fprintf(stderr, "reconstruction_1gib_s: could not start the cluster:\n%s\n", head.output.c_str());
  }
  Cli(std::string("stop --temp-dir ") + root);
  std::filesystem::remove_all(root);
}

}  // namespace orrery::bench
