// The driver of the two-host test (two_hosts_test.sh). Run on host A of a cluster whose other
// raylet is on host B (another network namespace, reached over a veth pair), it checks that
// work crosses between the hosts: tasks, an actor, a STRICT_SPREAD placement group, and a
// 1 GiB value made on A and read on B. Prints what it saw; exits non-zero on any mismatch.
// With ORRERY_TWO_HOSTS_MARKER set it does only what the script captures the veth during: a
// task argument and a 4 MiB value made of the marker, sent across, to look for in the capture.
// With ORRERY_TWO_HOSTS_TRANSFER_ONLY set, only the 1 GiB transfer (bench/two_hosts_transfer.sh).
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "orrery/api.h"

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

// A checksum that depends on every byte and its position.
uint64_t Checksum(const uint8_t* data, size_t size) {
  uint64_t hash = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}

int failures = 0;

void Check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok:  " : "FAIL:", what.c_str());
  if (!ok) ++failures;
}

}  // namespace

std::string Where() { return orrery::GetNodeId(); }

// Reads the value in place on whichever node runs it (copied there first when it lies elsewhere).
uint64_t ChecksumOf(orrery::ObjectRef<std::vector<uint8_t>> ref) {
  orrery::ObjectView<uint8_t> view = orrery::GetView(ref);
  return Checksum(view.data(), view.size());
}

// Only copies the value here (when it lies elsewhere): what the transfer's timing measures.
int64_t SizeOf(orrery::ObjectRef<std::vector<uint8_t>> ref) {
  return static_cast<int64_t>(orrery::GetView(ref).size());
}

std::string Echo(std::string text) { return text; }

class Resident {
 public:
  static Resident* Create() { return new Resident(); }
  std::string Node() { return orrery::GetNodeId(); }
};

ORRERY_REMOTE(Where, ChecksumOf, SizeOf, Echo, Resident::Create, &Resident::Node);

namespace {

orrery::SchedulingStrategy On(const std::string& node) { return orrery::SchedulingStrategy::NodeAffinity(node); }

// The marker as a task argument and answer, and as the bytes of a value read on the other host.
void SendMarkerAcross(const std::string& marker, const std::string& there) {
  Check(*orrery::Get(orrery::Task(Echo).SetSchedulingStrategy(On(there)).Remote(marker)) == marker,
        "the marker went across as a task argument and came back");
  std::vector<uint8_t> bytes;
  while (bytes.size() < (size_t{4} << 20)) bytes.insert(bytes.end(), marker.begin(), marker.end());
  uint64_t expected = Checksum(bytes.data(), bytes.size());
  auto ref = orrery::Put(bytes);
  Check(*orrery::Get(orrery::Task(ChecksumOf).SetSchedulingStrategy(On(there)).Remote(ref)) == expected,
        "4 MiB of the marker made on this host read intact on the other");
}

// 1 GiB made here, copied there; prints how long the copy took (a task there that only views
// it, on a worker already started), then checks every byte arrived.
void SendAGibibyteAcross(const std::string& there) {
  std::vector<uint8_t> bytes(static_cast<size_t>(kGiB));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 131) >> 7);
  uint64_t expected = Checksum(bytes.data(), bytes.size());
  auto ref = orrery::Put(bytes);
  bytes = std::vector<uint8_t>();
  orrery::Get(orrery::Task(Where).SetSchedulingStrategy(On(there)).Remote());  // its worker, started
  auto start = std::chrono::steady_clock::now();
  int64_t size_there = *orrery::Get(orrery::Task(SizeOf).SetSchedulingStrategy(On(there)).Remote(ref));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Check(size_there == kGiB, "1 GiB made on this host arrived whole on the other");
  uint64_t read_there = *orrery::Get(orrery::Task(ChecksumOf).SetSchedulingStrategy(On(there)).Remote(ref));
  Check(read_there == expected, "1 GiB made on this host read intact on the other");
  std::printf("1 GiB across the hosts in %.3f s\n", seconds);
}

int Finish() {
  orrery::Shutdown();
  std::printf("two hosts: %s\n", failures == 0 ? "every check passed" : "some checks FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  orrery::Config config;
  orrery::Init(config, argc, argv);
  std::vector<std::string> nodes = orrery::GetAliveNodeIds();
  Check(nodes.size() == 2, std::to_string(nodes.size()) + " nodes alive");
  std::string here = orrery::GetNodeId();
  std::string there = nodes.size() == 2 ? (nodes[0] == here ? nodes[1] : nodes[0]) : "";
  if (const char* marker = std::getenv("ORRERY_TWO_HOSTS_MARKER"); marker != nullptr && *marker != '\0') {
    SendMarkerAcross(marker, there);
    return Finish();
  }
  // bench/two_hosts_transfer.sh: the transfer alone, to time it.
  if (std::getenv("ORRERY_TWO_HOSTS_TRANSFER_ONLY") != nullptr) {
    SendAGibibyteAcross(there);
    return Finish();
  }

  // Tasks, sent to the other host and kept on this one.
  std::vector<orrery::ObjectRef<std::string>> away, home;
  for (int i = 0; i < 4; ++i) {
    away.push_back(orrery::Task(Where).SetSchedulingStrategy(On(there)).Remote());
    home.push_back(orrery::Task(Where).SetSchedulingStrategy(On(here)).Remote());
  }
  bool all_away = true, all_home = true;
  for (const auto& where : orrery::Get(away)) all_away = all_away && *where == there;
  for (const auto& where : orrery::Get(home)) all_home = all_home && *where == here;
  Check(all_away && all_home, "tasks ran on the host they were sent to");

  // An actor on the other host, called from this one.
  auto resident = orrery::Actor(Resident::Create).SetSchedulingStrategy(On(there)).Remote();
  Check(*orrery::Get(resident.Task(&Resident::Node).Remote()) == there, "an actor lives on the other host");
  resident.Kill();

  // A placement group with a bundle on each host.
  orrery::PlacementGroupCreationOptions options;
  options.strategy = orrery::PlacementStrategy::STRICT_SPREAD;
  options.bundles = {{{"CPU", 1}}, {{"CPU", 1}}};
  orrery::PlacementGroup group = orrery::CreatePlacementGroup(options);
  bool created = group.Wait(60);
  Check(created, "a STRICT_SPREAD group of two bundles was created");
  if (created) {
    std::set<std::string> bundle_nodes;
    for (int i = 0; i < 2; ++i) bundle_nodes.insert(*orrery::Get(orrery::Task(Where).SetPlacementGroup(group, i).Remote()));
    Check(bundle_nodes == std::set<std::string>{here, there}, "its bundles are on both hosts");
  }
  orrery::RemovePlacementGroup(group.GetID());

  SendAGibibyteAcross(there);
  return Finish();
}
