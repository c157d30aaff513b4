// Task attempts as a Chrome trace.
#include "src/state/timeline.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "nlohmann/json.hpp"
#include "src/common/id.h"

namespace orrery::state {
namespace {

std::string Id16(char fill) { return std::string(16, fill); }
std::string Hex(char fill) { return NodeId::FromBinary(Id16(fill))->Hex(); }

rpc::TaskAttempt* AddAttempt(rpc::GetTaskEventsReply& events, char task, char node, char worker,
                             const std::string& function, int64_t running_us, int64_t ended_us) {
  rpc::TaskAttempt* attempt = events.add_tasks();
  attempt->set_task_id(Id16(task));
  attempt->set_job_id(std::string("\x01\0\0\0", 4));
  attempt->set_function_name(function);
  attempt->set_node_id(Id16(node));
  attempt->set_worker_id(Id16(worker));
  attempt->set_running_us(running_us);
  attempt->set_ended_us(ended_us);
  attempt->set_state(ended_us > 0 ? rpc::FINISHED : rpc::RUNNING);
  return attempt;
}

// The events of `trace` with this "ph".
std::vector<nlohmann::json> EventsOf(const nlohmann::json& trace, const std::string& phase) {
  std::vector<nlohmann::json> events;
  for (const nlohmann::json& event : trace["traceEvents"]) {
    if (event["ph"] == phase) events.push_back(event);
  }
  return events;
}

TEST(TimelineJson, HasACompleteEventPerRunOnItsNodeAndWorker) {
  rpc::GetTaskEventsReply events;
  // Two workers on node 1, one on node 2; task 4 still runs, task 5 never ran.
  AddAttempt(events, '\x01', '\x11', '\x21', "Square", 1'000, 1'500);
  rpc::TaskAttempt* failed = AddAttempt(events, '\x02', '\x11', '\x22', "Divide", 2'000, 2'250);
  failed->set_state(rpc::FAILED);
  failed->set_error_type("TASK_ERROR: std::runtime_error");
  failed->set_attempt(1);
  AddAttempt(events, '\x03', '\x12', '\x23', "Square", 3'000, 3'100);
  rpc::TaskAttempt* running = AddAttempt(events, '\x04', '\x11', '\x21', "Square", 4'000, 0);
  running->set_kind(rpc::ACTOR_TASK);
  AddAttempt(events, '\x05', '\x12', '\x23', "Square", 0, 0);

  nlohmann::json trace = nlohmann::json::parse(TimelineJson(events, /*now_us=*/4'700));
  EXPECT_EQ(trace["displayTimeUnit"], "ms");
  std::vector<nlohmann::json> runs = EventsOf(trace, "X");
  ASSERT_EQ(runs.size(), 4u) << trace.dump(2);
  EXPECT_EQ(CountTaskRuns(events), 4);

  // Names for the numbers of the nodes (processes) and workers (threads).
  std::map<int64_t, std::string> process_names;
  std::map<std::pair<int64_t, int64_t>, std::string> thread_names;
  for (const nlohmann::json& meta : EventsOf(trace, "M")) {
    if (meta["name"] == "process_name") process_names[meta["pid"]] = meta["args"]["name"];
    if (meta["name"] == "thread_name") thread_names[{meta["pid"], meta["tid"]}] = meta["args"]["name"];
  }
  EXPECT_EQ(process_names.size(), 2u);
  EXPECT_EQ(thread_names.size(), 3u);
  auto node_of = [&](const nlohmann::json& run) { return process_names[run["pid"]]; };
  auto worker_of = [&](const nlohmann::json& run) { return thread_names[{run["pid"], run["tid"]}]; };

  EXPECT_EQ(runs[0]["name"], "Square");
  EXPECT_EQ(runs[0]["cat"], "NORMAL_TASK");
  EXPECT_EQ(runs[0]["ts"], 1'000);
  EXPECT_EQ(runs[0]["dur"], 500);
  EXPECT_EQ(node_of(runs[0]), "node " + Hex('\x11'));
  EXPECT_EQ(worker_of(runs[0]), "worker " + Hex('\x21'));
  EXPECT_EQ(runs[0]["args"]["task_id"], Hex('\x01'));
  EXPECT_EQ(runs[0]["args"]["job_id"], "01000000");
  EXPECT_EQ(runs[0]["args"]["state"], "FINISHED");
  EXPECT_FALSE(runs[0]["args"].contains("error_type"));

  EXPECT_EQ(runs[1]["name"], "Divide");
  EXPECT_EQ(runs[1]["dur"], 250);
  EXPECT_EQ(runs[1]["pid"], runs[0]["pid"]) << "the same node";
  EXPECT_NE(runs[1]["tid"], runs[0]["tid"]) << "another worker";
  EXPECT_EQ(worker_of(runs[1]), "worker " + Hex('\x22'));
  EXPECT_EQ(runs[1]["args"]["attempt"], 1);
  EXPECT_EQ(runs[1]["args"]["state"], "FAILED");
  EXPECT_EQ(runs[1]["args"]["error_type"], "TASK_ERROR: std::runtime_error");

  EXPECT_NE(runs[2]["pid"], runs[0]["pid"]) << "another node";
  EXPECT_EQ(node_of(runs[2]), "node " + Hex('\x12'));
  EXPECT_EQ(worker_of(runs[2]), "worker " + Hex('\x23'));

  // Still running: up to now.
  EXPECT_EQ(runs[3]["ts"], 4'000);
  EXPECT_EQ(runs[3]["dur"], 700);
  EXPECT_EQ(runs[3]["cat"], "ACTOR_TASK");
  EXPECT_EQ(runs[3]["tid"], runs[0]["tid"]) << "the first worker again";
}

TEST(TimelineJson, OfNoRunsIsAnEmptyTrace) {
  nlohmann::json trace = nlohmann::json::parse(TimelineJson(rpc::GetTaskEventsReply(), 0));
  EXPECT_TRUE(trace["traceEvents"].is_array());
  EXPECT_TRUE(trace["traceEvents"].empty());
  EXPECT_EQ(CountTaskRuns(rpc::GetTaskEventsReply()), 0);
}

TEST(TimelineJson, NamesWithQuotesControlCharactersOrBytesThatAreNotUtf8StayValidJson) {
  rpc::GetTaskEventsReply events;
  const std::string quoted = "say \"hi\"\\ \n\ttab \x01 caf\xc3\xa9";
  rpc::TaskAttempt* attempt = AddAttempt(events, '\x01', '\x11', '\x21', quoted, 1'000, 1'500);
  attempt->set_name("bad \xff byte");
  attempt->set_error_type("TASK_ERROR: \"quoted\"");
  nlohmann::json trace = nlohmann::json::parse(TimelineJson(events, 2'000));
  std::vector<nlohmann::json> runs = EventsOf(trace, "X");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["name"], quoted);
  EXPECT_EQ(runs[0]["args"]["name"], "bad \xef\xbf\xbd byte") << "U+FFFD for the byte that is not UTF-8";
  EXPECT_EQ(runs[0]["args"]["error_type"], "TASK_ERROR: \"quoted\"");
}

}  // namespace
}  // namespace orrery::state
