#include "src/dashboard/dashboard_api.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/job_submission.grpc.pb.h"
#include "orrery/log_service.grpc.pb.h"
#include "orrery/task_events.pb.h"
#include "orrery/version.h"
#include "src/common/id.h"
#include "src/dashboard/login_link.h"
#include "src/state/format.h"
#include "src/state/memory_rows.h"
#include "src/state/state_rows.h"
#include "src/state/state_sources.h"
#include "src/state/timeline.h"

namespace orrery::dashboard {

namespace {

using JobService = rpc::JobSubmissionService;
using state::StateTable;

// A raylet slower than this is left out of an answer (named in its warnings), so that one
// stuck node does not hold a page up for long.
constexpr int64_t kRayletTimeoutMs = 5'000;
// A log read without an offset answers the file's end: this much of it.
constexpr int64_t kLogTailBytes = 64 * 1024;
// How long a stopped driver has after SIGTERM before it is killed (as `orrery job stop`).
constexpr int64_t kStopGraceMs = 3'000;
constexpr int64_t kDefaultTaskLimit = 100;
// /objects lists the largest this many references unless asked for another `limit` (0: all).
constexpr int64_t kDefaultObjectLimit = 1000;

ApiReply FromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return ApiError(404, std::string(status.message()));
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return ApiError(400, std::string(status.message()));
    default:
      // The GCS or a raylet did not answer: the dashboard is up, what it reads from is not.
      return ApiError(502, std::string(status.message()));
  }
}

// A failed call to the raylet at `address`, its error said as the CLI says it.
ApiReply FromRaylet(const absl::Status& status, const std::string& address) {
  return FromStatus(absl::Status(status.code(), state::DescribeCallError(status, address)));
}

// A non-negative integer parameter; `fallback` when absent, nullopt when malformed.
std::optional<int64_t> IntParam(const Query& query, const std::string& name, int64_t fallback) {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value < 0) return std::nullopt;
  return value;
}

// A client of the log service of the alive node `node_hex` names (its id, or a unique start of
// it), and the raylet's address.
absl::StatusOr<std::pair<std::unique_ptr<rpc::GrpcClient<rpc::LogService>>, std::string>> LogsOf(
    const state::ClusterConnection& cluster, const std::string& node_hex) {
  if (node_hex.empty()) return absl::InvalidArgumentError("no node id (GET /api/v0/nodes lists them)");
  auto raylets = state::AliveRaylets(cluster);
  if (!raylets.ok()) return raylets.status();
  auto selected = state::SelectRaylets(std::move(*raylets), node_hex);
  if (!selected.ok()) return selected.status();
  const std::string& address = selected->front().address;
  return std::make_pair(state::RayletClient<rpc::LogService>(cluster, address), address);
}

}  // namespace

ApiReply ApiError(unsigned status, const std::string& message) {
  return ApiReply{status, nlohmann::ordered_json{{"error", message}}};
}

DashboardApi::DashboardApi(state::ClusterConnection cluster, ClusterInfo info)
    : cluster_(std::move(cluster)), info_(std::move(info)) {}

ApiReply DashboardApi::Get(const std::string& path, const Query& query) const {
  const std::vector<std::string> parts = absl::StrSplit(path.substr(path.empty() ? 0 : 1), '/');
  const std::string& first = parts[0];
  if (parts.size() == 1) {
    if (first == "cluster") {
      return {200, {{"session", info_.session}, {"gcs_address", info_.gcs_address}, {"version", ORRERY_VERSION_STRING}}};
    }
    if (first == "nodes" || first == "jobs" || first == "actors") return Table(first);
    if (first == "placement_groups") return Table("placement-groups");
    if (first == "tasks") return Tasks(query);
    if (first == "objects") return Objects(query);
    if (first == "logs") return LogFiles(query);
    if (first == "timeline") return Timeline(query);
  }
  if (parts.size() == 2 && first == "actors") return Actor(parts[1]);
  if (parts.size() == 2 && first == "tasks" && parts[1] == "summary") return TaskSummary();
  if (parts.size() == 3 && first == "jobs" && parts[2] == "logs") return JobLog(parts[1], query);
  if (parts.size() == 3 && first == "logs") return LogFile(parts[1], parts[2], query);
  return ApiError(404, "no API route GET /api/v0" + path);
}

ApiReply DashboardApi::Post(const std::string& path) const {
  const std::vector<std::string> parts = absl::StrSplit(path.substr(path.empty() ? 0 : 1), '/');
  if (parts.size() == 3 && parts[0] == "jobs" && parts[2] == "stop") return StopJob(parts[1]);
  return ApiError(404, "no API route POST /api/v0" + path);
}

bool DashboardApi::RedeemLoginLink(const std::string& nonce) const {
  if (nonce.empty()) return false;
  rpc::KvGetRequest get;
  get.set_namespace_(kLoginLinkNamespace);
  get.set_key(nonce);
  auto found = state::CallGcs<rpc::GcsService>(cluster_, &rpc::GcsService::Stub::async::KvGet, get);
  if (!found.ok() || !found->found()) return false;
  // Whoever deletes it redeems it: two logins with one link cannot both win.
  rpc::KvDelRequest del;
  del.set_namespace_(kLoginLinkNamespace);
  del.set_key(nonce);
  auto deleted = state::CallGcs<rpc::GcsService>(cluster_, &rpc::GcsService::Stub::async::KvDel, del);
  if (!deleted.ok() || deleted->deleted() != 1) return false;
  int64_t expiry_ms = 0;
  return absl::SimpleAtoi(found->value(), &expiry_ms) && state::NowMs() < expiry_ms;
}

ApiReply DashboardApi::Table(const std::string& kind) const {
  auto snapshot = state::FetchState(kind, cluster_);
  if (!snapshot.ok()) return FromStatus(snapshot.status());
  return {200, state::ToJson(snapshot->table)};
}

ApiReply DashboardApi::Actor(const std::string& actor_id) const {
  auto actors = state::FetchState("actors", cluster_);
  if (!actors.ok()) return FromStatus(actors.status());
  auto rows = state::FindRows(actors->table, actor_id);
  if (!rows.ok()) return FromStatus(rows.status());
  nlohmann::ordered_json actor = state::RowJson(actors->table, *rows->front());
  auto tasks = state::FetchState("tasks", cluster_);
  if (!tasks.ok()) return FromStatus(tasks.status());
  StateTable& table = tasks->table;
  const std::string id = actor["actor_id"].get<std::string>();
  if (absl::Status kept = state::ApplyFilters({{"actor_id", true, id}}, table); !kept.ok()) return FromStatus(kept);
  actor["tasks"] = state::ToJson(table);
  return {200, std::move(actor)};
}

ApiReply DashboardApi::Tasks(const Query& query) const {
  std::optional<int64_t> limit = IntParam(query, "limit", kDefaultTaskLimit);
  if (!limit) return ApiError(400, "limit must be a non-negative integer");
  auto tasks = state::FetchState("tasks", cluster_);
  if (!tasks.ok()) return FromStatus(tasks.status());
  StateTable& table = tasks->table;
  if (auto state = query.find("state"); state != query.end()) {
    if (absl::Status kept = state::ApplyFilters({{"state", true, state->second}}, table); !kept.ok()) {
      return FromStatus(kept);
    }
  }
  // The newest first: a page shows the latest failures.
  std::reverse(table.rows.begin(), table.rows.end());
  const size_t total = table.rows.size();
  state::Limit(static_cast<size_t>(*limit), table);
  return {200, {{"total", total}, {"rows", state::ToJson(table)}}};
}

ApiReply DashboardApi::TaskSummary() const {
  auto tasks = state::FetchState("tasks", cluster_);
  if (!tasks.ok()) return FromStatus(tasks.status());
  return {200, state::ToJson(state::TasksByFunction(tasks->table))};
}

// The report's totals and owners, and of the references only the `limit` largest: the whole
// list of a busy cluster is megabytes a page would parse on every refresh and never show
// (`orrery memory --format json` has it).
ApiReply DashboardApi::Objects(const Query& query) const {
  std::optional<int64_t> limit = IntParam(query, "limit", kDefaultObjectLimit);
  if (!limit) return ApiError(400, "limit must be a non-negative integer");
  auto raylets = state::AliveRaylets(cluster_);
  if (!raylets.ok()) return FromStatus(raylets.status());
  std::vector<std::string> warnings;
  const std::vector<state::NodeMemory> nodes = state::FetchNodeMemory(cluster_, *raylets, 0, warnings);
  nlohmann::ordered_json report = state::MemoryReportJson(nodes, state::MemoryDetail::kTotalsOnly);
  StateTable objects = state::LargestObjectsFirst(nodes);
  report["objects_total"] = objects.rows.size();
  state::Limit(static_cast<size_t>(*limit), objects);
  report["objects"] = state::ToJson(objects);
  report["warnings"] = warnings;
  return {200, std::move(report)};
}

ApiReply DashboardApi::JobLog(const std::string& submission_id, const Query& query) const {
  std::optional<int64_t> offset = IntParam(query, "offset", -1);
  if (!offset) return ApiError(400, "offset must be a non-negative integer");
  rpc::ReadJobLogsRequest request;
  request.set_submission_id(submission_id);
  request.set_offset(std::max<int64_t>(0, *offset));
  // Without an offset the log is read to its end and its last kLogTailBytes answered (the log
  // service has no tail read; a driver's log is seldom large).
  std::string text;
  while (true) {
    auto reply = state::CallGcs<JobService>(cluster_, &JobService::Stub::async::ReadJobLogs, request);
    if (!reply.ok()) return FromStatus(reply.status());
    text += reply->data();
    if (*offset < 0 && text.size() > static_cast<size_t>(kLogTailBytes)) text.erase(0, text.size() - kLogTailBytes);
    request.set_offset(reply->next_offset());
    if (*offset >= 0 || reply->data().empty() || reply->end()) {
      return {200, {{"text", text}, {"next_offset", reply->next_offset()}, {"ended", reply->end()}}};
    }
  }
}

ApiReply DashboardApi::StopJob(const std::string& submission_id) const {
  rpc::StopJobRequest request;
  request.set_submission_id(submission_id);
  request.set_grace_ms(kStopGraceMs);
  auto reply = state::CallGcs<JobService>(cluster_, &JobService::Stub::async::StopJob, request,
                                          kStopGraceMs + state::kCallGcsTimeoutMs);
  if (!reply.ok()) return FromStatus(reply.status());
  return {200, {{"stopped", reply->job().state() == rpc::JobSubmission::STOPPED},
                {"state", rpc::JobSubmission::State_Name(reply->job().state())}}};
}

ApiReply DashboardApi::LogFiles(const Query& query) const {
  auto node = query.find("node_id");
  if (node == query.end()) return ApiError(400, "node_id is required (GET /api/v0/nodes lists them)");
  auto logs = LogsOf(cluster_, node->second);
  if (!logs.ok()) return FromStatus(logs.status());
  auto& [client, address] = *logs;
  rpc::CallOptions call;
  call.timeout_ms = kRayletTimeoutMs;
  auto files = client->CallSync(&rpc::LogService::Stub::async::ListLogs, rpc::ListLogsRequest(), call);
  if (!files.ok()) return FromRaylet(files.status(), address);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const rpc::LogFile& file : files->files()) {
    list.push_back({{"file", file.name()}, {"size", file.size()}, {"modified_ms", file.modified_ms()}});
  }
  return {200, std::move(list)};
}

ApiReply DashboardApi::LogFile(const std::string& node_id, const std::string& file, const Query& query) const {
  std::optional<int64_t> offset = IntParam(query, "offset", -1);
  if (!offset) return ApiError(400, "offset must be a non-negative integer");
  auto logs = LogsOf(cluster_, node_id);
  if (!logs.ok()) return FromStatus(logs.status());
  auto& [client, address] = *logs;
  rpc::CallOptions call;
  call.timeout_ms = kRayletTimeoutMs;
  rpc::ReadLogRequest request;
  request.set_name(file);
  request.set_offset(std::max<int64_t>(0, *offset));
  // Without an offset only the file's size is wanted from this first read.
  request.set_max_bytes(*offset < 0 ? 1 : kLogTailBytes);
  auto piece = client->CallSync(&rpc::LogService::Stub::async::ReadLog, request, call);
  if (!piece.ok()) return FromRaylet(piece.status(), address);
  bool restarted = false;
  if (*offset < 0 || *offset > piece->size()) {
    // The tail, or a file that shrank under its reader (rotated, truncated): from its start.
    restarted = *offset > piece->size();
    request.set_offset(restarted ? 0 : std::max<int64_t>(0, piece->size() - kLogTailBytes));
    request.set_max_bytes(kLogTailBytes);
    piece = client->CallSync(&rpc::LogService::Stub::async::ReadLog, request, call);
    if (!piece.ok()) return FromRaylet(piece.status(), address);
  }
  return {200,
          {{"text", piece->data()}, {"next_offset", piece->next_offset()}, {"size", piece->size()},
           {"restarted", restarted}}};
}

ApiReply DashboardApi::Timeline(const Query& query) const {
  std::string job;
  if (auto id = query.find("job_id"); id != query.end() && !id->second.empty()) {
    auto parsed = JobId::FromHex(id->second);
    if (!parsed.ok()) return ApiError(400, "'" + id->second + "' is not a job id");
    job = parsed->Binary();
  }
  auto events = state::FetchTaskEvents(cluster_, job);
  if (!events.ok()) return FromStatus(events.status());
  return {200, nullptr, state::TimelineJson(*events, state::NowMs() * 1000)};
}

}  // namespace orrery::dashboard
