// The remote code of the chaos workload (chaos_workload.h): blocks and how their bytes are
// made and checked, the checker and reporter actors, and the submitted job's tasks.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "orrery/api.h"

namespace orrery::chaos {

// 1 MiB: far above the inline limit, so every block lives in a node's shared-memory store.
constexpr size_t kBlockBytes = 1 << 20;

using Block = std::vector<uint8_t>;
using BlockRef = orrery::ObjectRef<Block>;

// Where a block comes from: its round, wave and index, and (after wave 0) the digests of the two
// blocks of the previous wave it is made from. A wrong byte anywhere upstream changes it.
uint64_t BlockSeed(int round, int wave, int index, uint64_t left_digest, uint64_t right_digest);
// The block's bytes: a pseudo-random stream from `seed`.
Block MakeBlock(uint64_t seed);
// A 64-bit digest of every byte, and of the size.
uint64_t Digest(const Block& block);

// ---- remote code ----

// A block of wave 0, made from nothing.
Block FirstBlock(int round, int index);
// A block of a later wave, made from the bytes of two blocks of the previous wave.
Block NextBlock(int round, int wave, int index, Block left, Block right);
// What a wave is made of: a task that submits its block's child task (FirstBlock or NextBlock of
// `previous`, both with max_retries=-1) and returns the child's bytes. It takes `previous` as
// refs inside a value, so a re-run (lineage reconstruction) needs them made again too.
Block BuildBlock(int round, int wave, int index, std::vector<BlockRef> previous);

// Records the sequence numbers reporters send it. Never restarted: it is the test's record of
// what arrived, so the killer spares it.
class Checker {
 public:
  static Checker* Create() { return new Checker(); }
  int Receive(int reporter, int sequence) {
    received_[reporter].insert(sequence);
    return sequence;
  }
  // How many of `reporter`'s numbers 0..count-1 never arrived.
  int Missing(int reporter, int count) {
    const std::set<int>& received = received_[reporter];
    int missing = 0;
    for (int sequence = 0; sequence < count; ++sequence) missing += received.count(sequence) == 0 ? 1 : 0;
    return missing;
  }
  int Pid() { return getpid(); }

 private:
  std::map<int, std::set<int>> received_;
};

// Passes each sequence number it is given on to its checker, and answers once the checker has
// it: with max_task_retries=-1, a call cut short by the reporter's death runs again after its
// restart, so every number arrives at least once.
class Reporter {
 public:
  static Reporter* Create(int id, orrery::ActorHandle<Checker> checker) { return new Reporter(id, checker); }
  Reporter(int id, orrery::ActorHandle<Checker> checker) : id_(id), checker_(std::move(checker)) {}
  int Report(int sequence) { return *orrery::Get(checker_.Task(&Checker::Receive).Remote(id_, sequence)); }

 private:
  int id_;
  orrery::ActorHandle<Checker> checker_;
};

// The submitted job's tasks.
int Square(int x);
// Submits `n` Square tasks (max_retries=-1) and sums their results: sum of i*i for i < n.
int SumOfSquares(int n);

}  // namespace orrery::chaos
