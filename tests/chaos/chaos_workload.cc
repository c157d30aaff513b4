#include "tests/chaos/chaos_workload.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "src/common/clock.h"
#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/chaos_remote.h"

namespace orrery::chaos {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A step (a wave and its batch of calls) still unfinished after this is a hang: the driver says
// what is missing and fails, rather than wait for the test's deadline.
constexpr int kStepTimeoutMs = 180'000;


// A step still waiting after this says so, and again as often, with what it waits for: the
// trace of a slow recovery.
constexpr int kProgressEveryMs = 10'000;

// Waits for every one of `refs`, up to the step's deadline; throws naming `what` otherwise.
template <typename T>
void AwaitAll(const std::vector<orrery::ObjectRef<T>>& refs, Clock::time_point deadline, const std::string& what) {
  auto started = Clock::now();
  while (true) {
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    int slice_ms = static_cast<int>(std::clamp<int64_t>(left_ms, 1, kProgressEveryMs));
    auto waited = orrery::Wait(refs, static_cast<int>(refs.size()), slice_ms);
    if (waited.unready.empty()) return;
    std::string missing = std::to_string(waited.unready.size()) + " of the " + std::to_string(refs.size()) + " " + what;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(missing + " not done after " + std::to_string(kStepTimeoutMs / 1000) + " s");
    }
    std::printf("chaos driver: %s still not done after %.0f s\n", missing.c_str(), SecondsSince(started));
    std::fflush(stdout);
  }
}

// Parts (a) and (b) of the workload, driven one step at a time from this process's one thread:
// each step submits a wave of blocks and a batch of reporter calls, then waits for both.
class Workload {
 public:
  explicit Workload(const DriverOptions& options) : options_(options) {}

  // Creates the checkers on the head's node and the reporters anywhere, and writes the
  // checkers' pids to the file the killer reads before it starts.
  void Start() {
    auto on_head = orrery::SchedulingStrategy::NodeAffinity(options_.head_node);
    for (int i = 0; i < kCheckers; ++i) {
      checkers_.push_back(orrery::Actor(Checker::Create).SetSchedulingStrategy(on_head).Remote());
    }
    for (int id = 0; id < kReporters; ++id) {
      reporters_.push_back(orrery::Actor(Reporter::Create)
                               .SetMaxRestarts(-1)
                               .SetMaxTaskRetries(-1)
                               .Remote(id, checkers_[id % kCheckers]));
    }
    sent_.assign(kReporters, 0);
    fs::create_directories(options_.state_dir);
    std::string spared = SparedPidsFile(options_.state_dir);
    {
      std::ofstream out(spared + ".tmp");
      for (auto& checker : checkers_) out << *orrery::Get(checker.Task(&Checker::Pid).Remote()) << "\n";
    }
    fs::rename(spared + ".tmp", spared);  // whole or absent for the reader
  }

  // One round: its waves one after another, each read by the next. The last wave's bytes (and
  // through their digests every block before them) are checked one round later: meanwhile they
  // lie only in the stores of the nodes that made them, so a raylet killed then takes some with
  // it, and their owner must make them again through the round's lineage (the values of the
  // earlier waves are freed by then).
  void RunRound() {
    block_nodes_ = BlockNodes();
    std::vector<BlockRef> previous;
    for (int wave = 0; wave < kWavesPerRound; ++wave) {
      std::vector<BlockRef> blocks = SubmitWave(wave, previous);
      std::vector<std::pair<int, orrery::ObjectRef<int>>> calls = SubmitCalls();
      auto deadline = Clock::now() + std::chrono::milliseconds(kStepTimeoutMs);
      AwaitAll(blocks, deadline, "blocks of round " + std::to_string(rounds_) + " wave " + std::to_string(wave));
      std::vector<orrery::ObjectRef<int>> replies;
      for (const auto& call : calls) replies.push_back(call.second);
      AwaitAll(replies, deadline, "reporter calls");
      for (const auto& [sequence, reply] : calls) {
        int answered = *orrery::Get(reply);
        if (answered != sequence) {
          Fail("a reporter answered " + std::to_string(answered) + " for " + std::to_string(sequence));
        }
      }
      tasks_ += 2 * kBlocksPerWave;  // each block's task and its child
      actor_calls_ += static_cast<int>(calls.size());
      previous = std::move(blocks);  // the wave before is no longer referenced here
    }
    CheckUncheckedRound();
    unchecked_ = {rounds_, std::move(previous)};
    ++rounds_;
  }

  // The last wave of the latest round not checked yet.
  void CheckUncheckedRound() {
    if (unchecked_.second.empty()) return;
    CheckLastWave(unchecked_.first, unchecked_.second);
    unchecked_.second.clear();
  }

  // Every number each reporter was given reached its checker.
  void CheckEverySequenceArrived() {
    for (int id = 0; id < kReporters; ++id) {
      int missing = *orrery::Get(checkers_[id % kCheckers].Task(&Checker::Missing).Remote(id, sent_[id]));
      if (missing != 0) {
        Fail("reporter " + std::to_string(id) + ": " + std::to_string(missing) + " of its " +
             std::to_string(sent_[id]) + " sequence numbers never reached its checker");
      }
    }
  }

  int rounds() const { return rounds_; }
  // What it did: rounds, tasks (each block's task and its child) and reporter calls completed.
  nlohmann::json Figures() const { return {{"rounds", rounds_}, {"tasks", tasks_}, {"actor_calls", actor_calls_}}; }

 private:
  [[noreturn]] static void Fail(const std::string& what) { throw std::runtime_error(what); }

  std::vector<BlockRef> SubmitWave(int wave, const std::vector<BlockRef>& previous) {
    std::vector<BlockRef> blocks;
    for (int index = 0; index < kBlocksPerWave; ++index) {
      std::vector<BlockRef> inputs;
      if (!previous.empty()) inputs = {previous[index], previous[(index + 1) % kBlocksPerWave]};
      auto task = orrery::Task(BuildBlock).SetMaxRetries(-1);
      if (!block_nodes_.empty()) {
        const std::string& node = block_nodes_[(wave * kBlocksPerWave + index) % block_nodes_.size()];
        task.SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(node, /*soft=*/true));
      }
      blocks.push_back(task.Remote(rounds_, wave, index, inputs));
    }
    return blocks;
  }

  // The nodes a round's blocks are placed on, in turn: every alive node but the driver's and the
  // head's, which the killer spares. So a raylet kill takes blocks with it (the last wave's are
  // read only a round later), and their owner must make them again from their lineage. The
  // placement is soft: a block meant for a node that died meanwhile goes wherever there is room.
  std::vector<std::string> BlockNodes() const {
    std::vector<std::string> nodes;
    for (const auto& node : ListRowsOf(options_.root, "nodes --filter state=ALIVE")) {
      std::string id = TextOf(node, "node_id");
      if (id != options_.head_node && id != orrery::GetNodeId()) nodes.push_back(id);
    }
    return nodes;
  }

  // (sequence number, the reporter's answer)
  std::vector<std::pair<int, orrery::ObjectRef<int>>> SubmitCalls() {
    std::vector<std::pair<int, orrery::ObjectRef<int>>> calls;
    for (int id = 0; id < kReporters; ++id) {
      for (int i = 0; i < kCallsPerReporterPerWave; ++i) {
        int sequence = sent_[id]++;
        calls.emplace_back(sequence, reporters_[id].Task(&Reporter::Report).Remote(sequence));
      }
    }
    return calls;
  }

  // The digests this process expects of the round's last wave, made here from the same seeds.
  static std::vector<uint64_t> ExpectedLastWave(int round) {
    std::vector<uint64_t> digests(kBlocksPerWave);
    for (int index = 0; index < kBlocksPerWave; ++index) digests[index] = Digest(FirstBlock(round, index));
    for (int wave = 1; wave < kWavesPerRound; ++wave) {
      std::vector<uint64_t> next(kBlocksPerWave);
      for (int index = 0; index < kBlocksPerWave; ++index) {
        uint64_t seed = BlockSeed(round, wave, index, digests[index], digests[(index + 1) % kBlocksPerWave]);
        next[index] = Digest(MakeBlock(seed));
      }
      digests = std::move(next);
    }
    return digests;
  }

  void CheckLastWave(int round, const std::vector<BlockRef>& last) {
    std::vector<uint64_t> expected = ExpectedLastWave(round);
    // Reading a block its owner must make again takes as long as a step may.
    auto deadline = Clock::now() + std::chrono::milliseconds(kStepTimeoutMs);
    for (int index = 0; index < kBlocksPerWave; ++index) {
      auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      std::shared_ptr<Block> block = orrery::Get(last[index], static_cast<int>(std::max<int64_t>(left_ms, 1)));
      if (Digest(*block) != expected[index]) {
        Fail("round " + std::to_string(round) + ": block " + std::to_string(index) +
             " of the last wave has the wrong bytes (" + std::to_string(block->size()) + " bytes)");
      }
    }
  }

  DriverOptions options_;
  std::vector<orrery::ActorHandle<Checker>> checkers_;
  std::vector<orrery::ActorHandle<Reporter>> reporters_;
  std::vector<int> sent_;  // per reporter: the numbers 0..sent-1 were given to it
  std::vector<std::string> block_nodes_;  // this round's, from BlockNodes
  int rounds_ = 0;
  // A round and its last wave, held until CheckUncheckedRound.
  std::pair<int, std::vector<BlockRef>> unchecked_;
  int tasks_ = 0;
  int actor_calls_ = 0;
};

}  // namespace

std::string SparedPidsFile(const std::string& state_dir) { return state_dir + "/spared_pids"; }

namespace {
std::string DriverNodesDir(const std::string& state_dir) { return state_dir + "/driver_nodes"; }
}  // namespace

void WriteDriverNode(const std::string& state_dir, const std::string& driver) {
  std::string dir = DriverNodesDir(state_dir);
  fs::create_directories(dir);
  {
    std::ofstream out(dir + "/." + driver);
    out << orrery::GetNodeId() << "\n";
  }
  fs::rename(dir + "/." + driver, dir + "/" + driver);  // whole or absent for the reader
}

std::map<std::string, std::string> DriverNodes(const std::string& state_dir) {
  std::map<std::string, std::string> nodes;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(DriverNodesDir(state_dir), error)) {
    std::string driver = entry.path().filename().string();
    if (driver.rfind('.', 0) == 0) continue;  // still being written
    std::ifstream in(entry.path());
    std::string node;
    if (in >> node) nodes[driver] = node;
  }
  return nodes;
}

int RunChaosDriver(const DriverOptions& options) {
  orrery::Init();
  WriteDriverNode(options.state_dir, "driver");
  int exit_code = 0;
  auto start = Clock::now();
  try {
    Workload workload(options);
    workload.Start();
    start = Clock::now();  // the figures are of the rounds, not of creating the actors
    auto more = [&] {
      return options.rounds > 0 ? workload.rounds() < options.rounds : SecondsSince(start) < options.seconds;
    };
    while (more()) workload.RunRound();
    workload.CheckUncheckedRound();
    workload.CheckEverySequenceArrived();
    nlohmann::json figures = workload.Figures();
    figures["seconds"] = SecondsSince(start);
    std::printf("chaos driver figures: %s\n", figures.dump().c_str());
  } catch (const std::exception& e) {
    std::printf("chaos driver: FAILED after %.1f s: %s\n", SecondsSince(start), e.what());
    exit_code = 1;
  }
  std::fflush(stdout);
  orrery::Shutdown();
  return exit_code;
}

int RunChaosJob(double seconds, const std::string& state_dir) {
  constexpr int kSums = 4;
  constexpr int kSquares = 16;
  constexpr int kExpected = (kSquares - 1) * kSquares * (2 * kSquares - 1) / 6;
  orrery::Init();
  WriteDriverNode(state_dir, "job");
  int exit_code = 0;
  int tasks = 0;
  auto start = Clock::now();
  try {
    while (SecondsSince(start) < seconds) {
      std::vector<orrery::ObjectRef<int>> sums;
      for (int i = 0; i < kSums; ++i) sums.push_back(orrery::Task(SumOfSquares).SetMaxRetries(-1).Remote(kSquares));
      for (const auto& sum : orrery::Get(sums)) {
        if (*sum != kExpected) throw std::runtime_error("a sum of squares came to " + std::to_string(*sum));
      }
      tasks += kSums * (1 + kSquares);
    }
    std::printf("chaos job figures: %s\n",
                nlohmann::json{{"tasks", tasks}, {"seconds", SecondsSince(start)}}.dump().c_str());
  } catch (const std::exception& e) {
    std::printf("chaos job: FAILED after %.1f s: %s\n", SecondsSince(start), e.what());
    exit_code = 1;
  }
  std::fflush(stdout);
  orrery::Shutdown();
  return exit_code;
}

}  // namespace orrery::chaos
