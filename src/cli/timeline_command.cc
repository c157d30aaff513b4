// `orrery timeline`: the task attempts the GCS kept, written as a Chrome trace (timeline.h)
// to a file that chrome://tracing or Perfetto opens.
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/id.h"
#include "src/state/format.h"
#include "src/state/state_rows.h"
#include "src/state/state_sources.h"
#include "src/state/timeline.h"

namespace orrery::cli {

using state::CountTaskRuns;
using state::DroppedTaskEventNotes;
using state::FetchState;
using state::FetchTaskEvents;
using state::FindRows;
using state::NowMs;
using state::TimelineJson;

namespace {

struct TimelineFlags {
  ClusterFlags cluster;
  std::string output;
  std::string job;
};

// "orrery-timeline-20261127-215423.json": in the current folder, named by the local time.
std::string DefaultOutputPath() {
  time_t now = time(nullptr);
  struct tm local;
  localtime_r(&now, &local);
  char name[64];
  strftime(name, sizeof(name), "orrery-timeline-%Y%m%d-%H%M%S.json", &local);
  return name;
}

// The binary id of the job `id` names (as `orrery get job` takes it: hex, a unique start of
// it, or a submission id).
absl::StatusOr<std::string> ResolveJob(const ClusterConnection& cluster, const std::string& id) {
  auto jobs = FetchState("jobs", cluster);
  if (!jobs.ok()) return jobs.status();
  auto rows = FindRows(jobs->table, id, {"submission_id"});
  if (!rows.ok()) return rows.status();
  auto job = JobId::FromHex(rows->front()->at(0));
  if (!job.ok()) return job.status();
  return job->Binary();
}

int RunTimeline(const TimelineFlags& flags) {
  const std::string verb = "timeline";
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail(verb, std::string(cluster.status().message()));
  std::string job_id;
  if (!flags.job.empty()) {
    auto resolved = ResolveJob(*cluster, flags.job);
    if (!resolved.ok()) return Fail(verb, "--job: " + std::string(resolved.status().message()));
    job_id = *resolved;
  }
  auto events = FetchTaskEvents(*cluster, job_id);
  if (!events.ok()) return Fail(verb, std::string(events.status().message()));
  for (const auto& [job, note] : DroppedTaskEventNotes(*events)) fprintf(stderr, "%s\n", note.c_str());

  std::string path = flags.output.empty() ? DefaultOutputPath() : flags.output;
  std::ofstream out(path);
  out << TimelineJson(*events, NowMs() * 1000) << "\n";
  out.close();
  if (!out) return Fail(verb, "cannot write " + path + ": " + strerror(errno));
  printf("Wrote %lld task events to %s; open it in chrome://tracing or https://ui.perfetto.dev\n",
         static_cast<long long>(CountTaskRuns(*events)), path.c_str());
  return 0;
}

}  // namespace

void AddTimelineCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<TimelineFlags>();
  CLI::App* timeline =
      app.add_subcommand("timeline", "Write the tasks' run times as a Chrome trace (chrome://tracing, Perfetto)");
  timeline->add_option("-o,--output", flags->output, "The file to write (default: orrery-timeline-<time>.json here)");
  timeline->add_option("--job", flags->job, "Only this job's tasks (its id, the start of it, or its submission id)");
  AddClusterFlags(*timeline, flags->cluster);
  timeline->footer("Example: orrery timeline --job job_6b3c0f5d1e2a4978 -o trace.json");
  timeline->callback([flags, &exit_code] { exit_code = RunTimeline(*flags); });
}

}  // namespace orrery::cli
