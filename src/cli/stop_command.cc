// `orrery stop`: ends every daemon `orrery start` (or a driver's Init()) started under one
// temp-dir root, with their workers, and nothing else.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "src/cli/commands.h"
#include "src/common/clock.h"
#include "src/common/process.h"
#include "src/common/session.h"

namespace orrery::cli {

namespace {

struct StopFlags {
  std::string temp_dir;
  int64_t grace_ms = 10'000;
  bool keep_storage = false;
};

struct StopTarget {
  PidRecord record;
  int pidfd = -1;
};

// Signals every target's process group (a daemon leads its own: its workers and zygotes are
// in it), then waits for each through its pidfd.
void SignalAndWait(std::vector<StopTarget>& targets, int sig, int64_t wait_ms) {
  for (auto& target : targets) {
    kill(-target.record.pid, sig);
    // And the process itself: one that does not lead its group (orrery-gcs under orrery-head)
    // is reached even when its group's leader is gone.
    kill(target.record.pid, sig);
  }
  int64_t deadline = MonotonicMs() + wait_ms;
  for (auto& target : targets) {
    int64_t left = std::max<int64_t>(0, deadline - MonotonicMs());
    if (target.pidfd >= 0) WaitForExit(target.pidfd, static_cast<int>(left));
  }
}

// The embedded GCS storage of the heads running in `sessions`, where `orrery start --head` puts
// it by default (under <root>/gcs_storage). Storage an operator named with --gcs-storage is
// theirs, and a Redis is not ours to empty: both are kept, and said so.
std::set<std::string> EmbeddedStorage(const std::string& root, const std::set<std::string>& sessions) {
  std::set<std::string> paths;
  const std::string default_dir = root + "/gcs_storage/";
  for (const std::string& session : sessions) {
    auto spec = ReadGcsStorageRecord(SessionDir(session));
    if (!spec.ok() || *spec == "memory") continue;
    std::string path = absl::StartsWith(*spec, "rocksdb:") ? spec->substr(std::string("rocksdb:").size()) : "";
    if (!path.empty() && absl::StartsWith(path, default_dir)) {
      paths.insert(path);
    } else {
      printf("Kept the GCS storage %s (given with --gcs-storage: delete it yourself when no longer wanted).\n",
             absl::StartsWith(*spec, "redis") ? "in Redis" : spec->c_str());
    }
  }
  return paths;
}

void DeleteStorage(const std::set<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    std::filesystem::remove_all(path, ec);
    if (ec) {
      fprintf(stderr, "orrery stop: cannot delete the GCS storage at %s: %s\n", path.c_str(), ec.message().c_str());
    } else {
      printf("Deleted the GCS storage at %s (--keep-storage keeps it).\n", path.c_str());
    }
  }
}

int RunStop(const StopFlags& flags) {
  std::string root = flags.temp_dir.empty() ? DefaultTempDir() : flags.temp_dir;
  std::vector<StopTarget> raylets, others;
  std::vector<std::string> stale;
  std::set<std::string> running_heads;  // sessions whose GCS (or its supervisor) runs
  for (const SessionDir& session : AllSessions(root)) {
    for (const PidRecord& record : ReadPidRecords(session)) {
      if (!PidRecordAlive(record)) {
        stale.push_back(record.path);
        continue;
      }
      if (record.name == "gcs" || record.name == "head") running_heads.insert(session.path());
      auto pidfd = OpenPidfd(record.pid);
      StopTarget target{record, pidfd.ok() ? *pidfd : -1};
      (record.name.rfind("raylet", 0) == 0 ? raylets : others).push_back(target);
    }
  }
  for (const auto& path : stale) unlink(path.c_str());
  if (raylets.empty() && others.empty()) {
    // Storage of a head that is not running (its host went down) is what restores it: kept.
    printf("Nothing is running under %s.\n", root.c_str());
    return 0;
  }
  std::set<std::string> storage =
      flags.keep_storage ? std::set<std::string>() : EmbeddedStorage(root, running_heads);
  // Raylets first (they end their workers and say goodbye to the GCS), then the GCS.
  SignalAndWait(raylets, SIGTERM, flags.grace_ms);
  SignalAndWait(others, SIGTERM, flags.grace_ms);
  int killed = 0;
  for (auto* group : {&raylets, &others}) {
    for (auto& target : *group) {
      bool alive = ProcessAlive(target.record.pid);
      // Whatever is left of the group (a stuck daemon or worker) is killed outright.
      kill(-target.record.pid, SIGKILL);
      kill(target.record.pid, SIGKILL);
      if (alive) {
        ++killed;
        if (target.pidfd >= 0) WaitForExit(target.pidfd, 5000);
      }
      if (target.pidfd >= 0) close(target.pidfd);
      unlink(target.record.path.c_str());
    }
  }
  size_t total = raylets.size() + others.size();
  printf("Stopped %zu Orrery daemon%s under %s", total, total == 1 ? "" : "s", root.c_str());
  if (killed > 0) printf(" (%d did not stop within %lld ms and were killed)", killed, (long long)flags.grace_ms);
  printf(".\n");
  DeleteStorage(storage);
  return 0;
}

}  // namespace

void AddStopCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<StopFlags>();
  CLI::App* stop = app.add_subcommand("stop", "Stop the daemons and workers started under a temp-dir root");
  stop->add_option("--temp-dir", flags->temp_dir, "Root to stop (default: $ORRERY_TEMP_DIR or /tmp/orrery)");
  stop->add_option("--grace-ms", flags->grace_ms, "How long daemons get to stop before they are killed")
      ->capture_default_str();
  stop->add_flag("--keep-storage", flags->keep_storage,
                 "Keep the head's embedded GCS storage, so that `orrery start --head` restores the cluster");
  stop->callback([flags, &exit_code] { exit_code = RunStop(*flags); });
}

}  // namespace orrery::cli
