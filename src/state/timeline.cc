#include "src/state/timeline.h"

#include <algorithm>
#include <map>
#include <string>

#include "src/common/id.h"

namespace orrery::state {

namespace {

template <typename Id>
std::string HexOf(const std::string& binary) {
  auto id = Id::FromBinary(binary);
  return id.ok() ? id->Hex() : "unknown";
}

// Small integer ids from 1, in the order of first use, with a metadata event naming each.
class Numbering {
 public:
  Numbering(const char* metadata_name, const char* label) : metadata_name_(metadata_name), label_(label) {}

  // The number of `hex`; a new one adds the event naming it to `trace_events` (in the process
  // `pid`, or, for a process, its own number).
  int64_t Of(const std::string& hex, int64_t pid, nlohmann::json& trace_events) {
    auto [it, added] = numbers_.emplace(hex, static_cast<int64_t>(numbers_.size()) + 1);
    if (added) {
      nlohmann::json event = {{"name", metadata_name_},
                              {"ph", "M"},
                              {"pid", pid == 0 ? it->second : pid},
                              {"args", {{"name", std::string(label_) + " " + hex}}}};
      if (pid != 0) event["tid"] = it->second;
      trace_events.push_back(std::move(event));
    }
    return it->second;
  }

 private:
  const char* metadata_name_;
  const char* label_;
  std::map<std::string, int64_t> numbers_;
};

}  // namespace

nlohmann::json TimelineJson(const rpc::GetTaskEventsReply& events, int64_t now_us) {
  nlohmann::json trace_events = nlohmann::json::array();
  Numbering nodes("process_name", "node");
  // Numbered across the cluster, as worker ids are unique in it.
  Numbering workers("thread_name", "worker");
  for (const rpc::TaskAttempt& task : events.tasks()) {
    if (task.running_us() <= 0) continue;
    std::string node = HexOf<NodeId>(task.node_id());
    std::string worker = HexOf<WorkerId>(task.worker_id());
    int64_t pid = nodes.Of(node, 0, trace_events);
    int64_t tid = workers.Of(worker, pid, trace_events);
    int64_t end_us = task.ended_us() > 0 ? task.ended_us() : now_us;
    nlohmann::json args = {{"task_id", HexOf<TaskId>(task.task_id())},
                           {"attempt", task.attempt()},
                           {"state", rpc::TaskState_Name(task.state())},
                           {"job_id", HexOf<JobId>(task.job_id())},
                           {"node_id", node},
                           {"worker_id", worker}};
    if (!task.name().empty()) args["name"] = task.name();
    if (!task.error_type().empty()) args["error_type"] = task.error_type();
    trace_events.push_back({{"name", task.function_name().empty() ? task.name() : task.function_name()},
                            {"cat", rpc::TaskKind_Name(task.kind())},
                            {"ph", "X"},
                            {"ts", task.running_us()},
                            {"dur", std::max<int64_t>(0, end_us - task.running_us())},
                            {"pid", pid},
                            {"tid", tid},
                            {"args", std::move(args)}});
  }
  return {{"traceEvents", std::move(trace_events)}, {"displayTimeUnit", "ms"}};
}

int64_t CountTaskRuns(const nlohmann::json& trace) {
  const nlohmann::json& events = trace.at("traceEvents");
  return std::count_if(events.begin(), events.end(), [](const nlohmann::json& e) { return e.value("ph", "") == "X"; });
}

}  // namespace orrery::state
