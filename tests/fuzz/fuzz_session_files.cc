// The files of a session directory that commands on a host read (session.h): cluster.json, a
// node's settings.json, gcs_storage, the token and the pid records. Anyone who can write the
// session directory controls them, so a reader must return a Status for any content, never
// throw or abort; and what it accepts must survive its own writer unchanged.
//
// Input: one byte choosing the file, then the file's bytes.
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "tests/fuzz/fuzz_util.h"

#include "src/common/id.h"
#include "src/common/session.h"

namespace orrery::fuzz {
namespace {

void WriteFile(const std::string& path, const std::string& bytes, mode_t mode) {
  std::ofstream(path, std::ios::binary) << bytes;
  chmod(path.c_str(), mode);
}

void CheckClusterRecord(const SessionDir& session) {
  auto record = ReadClusterRecord(session);
  if (!record.ok()) return;
  FUZZ_CHECK(WriteClusterRecord(session, *record).ok(), "a cluster record read back is written");
  auto again = ReadClusterRecord(session);
  FUZZ_CHECK(again.ok(), "a written cluster record reads");
  FUZZ_CHECK(again->gcs_address == record->gcs_address && again->cluster_id == record->cluster_id &&
                 again->version == record->version && again->created_ms == record->created_ms &&
                 again->head == record->head && again->head_node_id == record->head_node_id,
             "a cluster record survives its writer");
}

void CheckNodeSettings(const SessionDir& session, const NodeId& node) {
  auto settings = ReadNodeSettings(session, node);
  if (!settings.ok()) return;
  FUZZ_CHECK(WriteNodeSettings(session, node, *settings).ok(), "node settings read back are written");
  auto again = ReadNodeSettings(session, node);
  FUZZ_CHECK(again.ok() && again->gcs_lost_timeout_ms == settings->gcs_lost_timeout_ms &&
                 again->bind_all == settings->bind_all,
             "node settings survive their writer");
}

void CheckToken(const std::string& path, const std::string& bytes, mode_t mode) {
  auto token = ReadToken(path);
  if ((mode & 077) != 0) {
    FUZZ_CHECK(!token.ok(), "a token file others can read is refused");
    return;
  }
  if (!token.ok()) return;
  FUZZ_CHECK(!token->empty() && *token == absl::StripAsciiWhitespace(*token), "a token is trimmed and not empty");
  FUZZ_CHECK(bytes.find(*token) != std::string::npos, "a token is what the file holds");
}

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery;
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  const uint8_t which = input.TakeByte();
  const std::string bytes = input.Rest();
  TempDir dir;
  SessionDir session(dir.path().string());
  if (!session.EnsureLayout().ok()) std::abort();
  const NodeId node = NodeId::FromRandom();
  switch (which % 5) {
    case 0:
      WriteFile(session.ClusterFile(), bytes, 0644);
      CheckClusterRecord(session);
      break;
    case 1:
      std::filesystem::create_directories(session.NodeDir(node));
      WriteFile(session.NodeSettingsFile(node), bytes, 0600);
      CheckNodeSettings(session, node);
      break;
    case 2: {
      WriteFile(session.GcsStorageFile(), bytes, 0600);
      auto spec = ReadGcsStorageRecord(session);
      FUZZ_CHECK(!spec.ok() || *spec == absl::StripAsciiWhitespace(*spec), "a storage spec is trimmed");
      break;
    }
    case 3: {
      const mode_t mode = (which & 0x80) != 0 ? 0644 : 0600;
      WriteFile(session.TokenFile(), bytes, mode);
      CheckToken(session.TokenFile(), bytes, mode);
      break;
    }
    case 4: {
      // Two records: one from the input, one well formed that must still be found beside it.
      WriteFile(session.PidsDir() + "/fuzzed.pid", bytes, 0600);
      WriteFile(session.PidsDir() + "/good.pid", "123 456\n", 0600);
      bool good_found = false;
      for (const PidRecord& record : ReadPidRecords(session)) {
        if (record.name == "good") good_found = record.pid == 123 && record.start_time == 456;
      }
      FUZZ_CHECK(good_found, "a malformed pid record hides no other record");
      break;
    }
  }
  return 0;
}
