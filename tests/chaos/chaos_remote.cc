#include "tests/chaos/chaos_remote.h"

#include <cstring>

namespace orrery::chaos {
namespace {

// splitmix64's finalizer: every input bit reaches every output bit.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t BlockSeed(int round, int wave, int index, uint64_t left_digest, uint64_t right_digest) {
  uint64_t place =
      (static_cast<uint64_t>(round) << 32) | (static_cast<uint64_t>(wave) << 16) | static_cast<uint64_t>(index);
  return Mix(Mix(place) ^ Mix(left_digest) ^ Mix(~right_digest));
}

Block MakeBlock(uint64_t seed) {
  Block block(kBlockBytes);
  for (size_t at = 0; at < kBlockBytes; at += sizeof(uint64_t)) {
    uint64_t word = Mix(seed + at);
    std::memcpy(&block[at], &word, sizeof(word));
  }
  return block;
}

uint64_t Digest(const Block& block) {
  uint64_t digest = Mix(block.size());
  size_t at = 0;
  for (; at + sizeof(uint64_t) <= block.size(); at += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, &block[at], sizeof(word));
    digest = Mix(digest ^ word);
  }
  for (; at < block.size(); ++at) digest = Mix(digest ^ block[at]);
  return digest;
}

Block FirstBlock(int round, int index) { return MakeBlock(BlockSeed(round, 0, index, 0, 0)); }

Block NextBlock(int round, int wave, int index, Block left, Block right) {
  return MakeBlock(BlockSeed(round, wave, index, Digest(left), Digest(right)));
}

Block BuildBlock(int round, int wave, int index, std::vector<BlockRef> previous) {
  BlockRef child = previous.empty()
                       ? orrery::Task(FirstBlock).SetMaxRetries(-1).Remote(round, index)
                       : orrery::Task(NextBlock).SetMaxRetries(-1).Remote(round, wave, index, previous[0], previous[1]);
  return *orrery::Get(child);
}

int Square(int x) { return x * x; }

int SumOfSquares(int n) {
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < n; ++i) squares.push_back(orrery::Task(Square).SetMaxRetries(-1).Remote(i));
  int sum = 0;
  for (const auto& square : orrery::Get(squares)) sum += *square;
  return sum;
}

ORRERY_REMOTE(FirstBlock, NextBlock, BuildBlock, Checker::Create, &Checker::Receive, &Checker::Missing, &Checker::Pid,
              Reporter::Create, &Reporter::Report, Square, SumOfSquares);

}  // namespace orrery::chaos
