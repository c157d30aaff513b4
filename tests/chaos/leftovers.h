// What a stopped cluster must not leave behind: processes (workers, zygotes, daemons) that
// name its temp root, named shared-memory segments, and sanitizer reports. Each is a snapshot
// taken before the cluster starts and compared with one taken after it stops.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "src/common/process.h"

namespace orrery::chaos {

// A file's bytes, or "" when it cannot be read (a process that is gone).
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Live processes (not zombies) other than this one whose command line or environment names
// `root`: every daemon, zygote, worker and driver of a cluster under that root does.
inline std::set<pid_t> ProcessesNaming(const std::string& root) {
  std::set<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = std::atoi(entry.path().filename().c_str());
    if (pid <= 0 || pid == getpid() || !ProcessAlive(pid)) continue;
    for (const char* file : {"/cmdline", "/environ"}) {
      if (ReadBytes(entry.path().string() + file).find(root) != std::string::npos) {
        found.insert(pid);
        break;
      }
    }
  }
  return found;
}

// "pid 123: orrery-raylet --flags..." for a report.
inline std::string DescribeProcess(pid_t pid) {
  std::string cmdline = ReadBytes("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : cmdline) c = c == '\0' ? ' ' : c;
  return "pid " + std::to_string(pid) + ": " + cmdline;
}

// The names in /dev/shm. The object stores are memfds, which go with their last process and
// never appear here: anything new here is a leak of something else.
inline std::set<std::string> SharedMemoryNames() {
  std::set<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", error)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// The report files of the sanitizer build: every process writes its reports to
// `<log_path>.<pid>` (ASAN_OPTIONS / UBSAN_OPTIONS log_path, as scripts/test.sh sets them).
// Empty outside it.
inline std::set<std::string> SanitizerReports() {
  std::set<std::string> reports;
  for (const char* variable : {"ASAN_OPTIONS", "UBSAN_OPTIONS"}) {
    const char* options = std::getenv(variable);
    if (options == nullptr) continue;
    std::string text = options;
    size_t at = text.find("log_path=");
    if (at == std::string::npos) continue;
    std::filesystem::path prefix = text.substr(at + 9, text.find(':', at) - (at + 9));
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(prefix.parent_path(), error)) {
      if (entry.path().filename().string().rfind(prefix.filename().string() + ".", 0) == 0) {
        reports.insert(entry.path().string());
      }
    }
  }
  return reports;
}

// What is in `after` and not in `before`.
template <typename T>
std::set<T> Added(const std::set<T>& before, const std::set<T>& after) {
  std::set<T> added;
  for (const T& item : after) {
    if (before.count(item) == 0) added.insert(item);
  }
  return added;
}

}  // namespace orrery::chaos
