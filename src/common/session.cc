#include "src/common/session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/common/random.h"
#include "src/common/status.h"

namespace orrery {

std::string DefaultTempDir() {
  const char* env = std::getenv("ORRERY_TEMP_DIR");
  return (env != nullptr && *env != '\0') ? std::string(env) : std::string(kDefaultTempDir);
}

absl::Status SessionDir::EnsureLayout() const {
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(path_));
  ORRERY_RETURN_IF_ERROR(MakeDirs(LogsDir(), 0755));
  return MakePrivateDir(PidsDir());
}

absl::StatusOr<SessionDir> CreateSession(const std::string& root) {
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(root));
  std::time_t seconds = std::time(nullptr);
  std::tm tm;
  localtime_r(&seconds, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
  // One process may start several sessions within a second (Init/Shutdown cycles): the
  // first free name wins, claimed atomically by mkdir.
  std::string name;
  for (int n = 0;; ++n) {
    name = absl::StrCat("session_", stamp, "_", getpid(), n == 0 ? "" : absl::StrCat("_", n));
    if (mkdir((root + "/" + name).c_str(), 0700) == 0) break;
    if (errno != EEXIST) return ErrnoStatus("mkdir " + root + "/" + name, errno);
  }
  SessionDir session(root + "/" + name);
  ORRERY_RETURN_IF_ERROR(session.EnsureLayout());

  // Point session_latest at it atomically: a new link beside it, renamed over the old one.
  std::string link = root + "/session_latest";
  std::string tmp_link = absl::StrCat(link, ".tmp-", HexEncode(RandomBytes(4)));
  if (symlink(name.c_str(), tmp_link.c_str()) != 0) return ErrnoStatus("symlink " + tmp_link, errno);
  if (rename(tmp_link.c_str(), link.c_str()) != 0) {
    int err = errno;
    unlink(tmp_link.c_str());
    return ErrnoStatus("rename to " + link, err);
  }
  return session;
}

absl::StatusOr<SessionDir> LatestSession(const std::string& root) {
  std::string link = root + "/session_latest";
  char target[4096];
  ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
  if (n <= 0) return absl::NotFoundError("no Orrery session under " + root);
  std::string name(target, static_cast<size_t>(n));
  std::string path = name.front() == '/' ? name : root + "/" + name;
  if (!PathExists(path)) return absl::NotFoundError("session_latest under " + root + " points at a missing " + path);
  return SessionDir(path);
}

namespace {
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i_end = i, j_end = j;
      while (i_end < a.size() && std::isdigit(static_cast<unsigned char>(a[i_end]))) ++i_end;
      while (j_end < b.size() && std::isdigit(static_cast<unsigned char>(b[j_end]))) ++j_end;
      std::string x = a.substr(i, i_end - i), y = b.substr(j, j_end - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}
}  // namespace

std::vector<SessionDir> AllSessions(const std::string& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("session_", 0) == 0 && name != "session_latest" && !entry.is_symlink() &&
        entry.is_directory()) {
      names.push_back(name);
    }
  }
  // Oldest first: numbers compare as numbers ("_2" before "_10"), the rest as text.
  std::sort(names.begin(), names.end(), NaturalLess);
  std::vector<SessionDir> sessions;
  for (const auto& name : names) sessions.emplace_back(root + "/" + name);
  return sessions;
}

absl::Status WriteClusterRecord(const SessionDir& session, const ClusterRecord& record) {
  nlohmann::json j = {{"gcs_address", record.gcs_address},
                      {"cluster_id", record.cluster_id},
                      {"version", record.version},
                      {"created_ms", record.created_ms},
                      {"head", record.head},
                      {"head_node_id", record.head_node_id},
                      {"tls_dir", record.tls_dir}};
  return WriteFileAtomic(session.ClusterFile(), j.dump(2) + "\n", 0644);
}

namespace {
using Json = nlohmann::json;
// Whether `key` is absent or of the type `is_type` checks: j.value() throws type_error for a
// field of another type, and converts a double to an integer even out of range (undefined).
bool FieldIs(const Json& j, const char* key, bool (Json::*is_type)() const noexcept) {
  auto it = j.find(key);
  return it == j.end() || ((*it).*is_type)();
}
}  // namespace

absl::StatusOr<ClusterRecord> ReadClusterRecord(const SessionDir& session) {
  ORRERY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(session.ClusterFile()));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("gcs_address") || !j["gcs_address"].is_string() ||
      !FieldIs(j, "cluster_id", &Json::is_string) || !FieldIs(j, "version", &Json::is_string) ||
      !FieldIs(j, "created_ms", &Json::is_number_integer) || !FieldIs(j, "head", &Json::is_boolean) ||
      !FieldIs(j, "head_node_id", &Json::is_string) || !FieldIs(j, "tls_dir", &Json::is_string)) {
    return absl::DataLossError(session.ClusterFile() + " is not a valid cluster record");
  }
  ClusterRecord record;
  record.gcs_address = j["gcs_address"].get<std::string>();
  record.cluster_id = j.value("cluster_id", "");
  record.version = j.value("version", "");
  record.created_ms = j.value("created_ms", int64_t{0});
  record.head = j.value("head", false);
  record.head_node_id = j.value("head_node_id", "");
  record.tls_dir = j.value("tls_dir", "");
  return record;
}

absl::Status WriteNodeSettings(const SessionDir& session, const NodeId& node, const NodeSettings& settings) {
  nlohmann::json j = {{"gcs_lost_timeout_ms", settings.gcs_lost_timeout_ms}, {"bind_all", settings.bind_all}};
  return WriteFileAtomic(session.NodeSettingsFile(node), j.dump() + "\n", 0600);
}

absl::StatusOr<NodeSettings> ReadNodeSettings(const SessionDir& session, const NodeId& node) {
  ORRERY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(session.NodeSettingsFile(node)));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !FieldIs(j, "gcs_lost_timeout_ms", &Json::is_number_integer) ||
      !FieldIs(j, "bind_all", &Json::is_boolean)) {
    return absl::DataLossError(session.NodeSettingsFile(node) + " is not a valid node settings file");
  }
  NodeSettings settings;
  settings.gcs_lost_timeout_ms = j.value("gcs_lost_timeout_ms", int64_t{0});
  settings.bind_all = j.value("bind_all", false);
  return settings;
}

std::string GenerateToken() { return HexEncode(RandomBytes(32)); }

absl::Status WriteGcsStorageRecord(const SessionDir& session, const std::string& spec) {
  // 0600: a Redis URL may carry a password.
  return WriteFileAtomic(session.GcsStorageFile(), spec + "\n", 0600);
}

absl::StatusOr<std::string> ReadGcsStorageRecord(const SessionDir& session) {
  ORRERY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(session.GcsStorageFile()));
  return std::string(absl::StripAsciiWhitespace(text));
}

absl::Status WriteToken(const std::string& path, const std::string& token) {
  return WriteFileAtomic(path, token + "\n", 0600);
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus("token file " + path, errno);
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("token file ", path, " is readable by others (mode ",
                                                    absl::StrCat(st.st_mode & 0777), "); it must be 0600"));
  }
  ORRERY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::InvalidArgumentError("token file " + path + " is empty");
  return token;
}

namespace {
std::string PidRecordPath(const SessionDir& session, const std::string& name) {
  return absl::StrCat(session.PidsDir(), "/", name, ".pid");
}
}  // namespace

absl::Status WritePidRecord(const SessionDir& session, const std::string& name, pid_t pid) {
  ORRERY_ASSIGN_OR_RETURN(uint64_t start_time, ProcessStartTime(pid));
  return WriteFileAtomic(PidRecordPath(session, name), absl::StrCat(pid, " ", start_time, "\n"),
                         0600);
}

std::vector<PidRecord> ReadPidRecords(const SessionDir& session) {
  std::vector<PidRecord> records;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(session.PidsDir(), ec)) {
    if (entry.path().extension() != ".pid") continue;
    auto text = ReadFileToString(entry.path().string());
    if (!text.ok()) continue;
    std::vector<std::string> parts = absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ');
    PidRecord record;
    record.name = entry.path().stem().string();
    record.path = entry.path().string();
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &record.pid) ||
        !absl::SimpleAtoi(parts[1], &record.start_time)) {
      continue;
    }
    records.push_back(record);
  }
  return records;
}

void RemovePidRecord(const SessionDir& session, const std::string& name) {
  unlink(PidRecordPath(session, name).c_str());
}

bool PidRecordAlive(const PidRecord& record) {
  if (!ProcessAlive(record.pid)) return false;
  auto start = ProcessStartTime(record.pid);
  return start.ok() && *start == record.start_time;
}

}  // namespace orrery
