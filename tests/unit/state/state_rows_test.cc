// The cluster's replies as the rows of `orrery list`.
#include "src/state/state_rows.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery::state {
namespace {

using ::testing::HasSubstr;

// The cell of `column` in `row` of `table`, as a table shows it.
std::string Cell(const StateTable& table, size_t row, const std::string& column) {
  int index = table.ColumnIndex(column);
  EXPECT_GE(index, 0) << column;
  return index < 0 ? "" : ShownCell(table.columns[index], table.rows.at(row).at(index));
}

std::string Id16(char fill) { return std::string(16, fill); }

TEST(NodesTable, ShowsUsageOfAliveNodesAndWhyDeadOnesDied) {
  rpc::GetClusterStatusReply status;
  rpc::NodeInfo* alive = status.add_nodes();
  alive->set_node_id(Id16('\x01'));
  alive->set_node_ip("10.0.0.4");
  alive->set_node_manager_port(33783);
  alive->set_object_store_memory(1 << 30);
  ResourceSet::FromDoubles({{"CPU", 2}, {"GPU", 1}}).value().ToProto(alive->mutable_total_resources());
  rpc::NodeResourceUsage* usage = status.add_usage();
  usage->set_node_id(alive->node_id());
  ResourceSet::FromDoubles({{"CPU", 1}, {"GPU", 1}}).value().ToProto(usage->mutable_available());
  usage->set_num_workers(3);
  usage->set_object_store_used_bytes(512 << 20);
  rpc::NodeInfo* dead = status.add_nodes();
  dead->set_node_id(Id16('\x02'));
  dead->set_state(rpc::NodeInfo::DEAD);
  dead->set_death_reason("raylet exited");

  StateTable table = NodesTable(status);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(Cell(table, 0, "node_id"), NodeId::FromBinary(Id16('\x01'))->Hex());
  EXPECT_EQ(Cell(table, 0, "address"), "10.0.0.4:33783");
  EXPECT_EQ(Cell(table, 0, "state"), "ALIVE");
  EXPECT_EQ(Cell(table, 0, "resources"), "CPU 1/2 GPU 0/1");
  EXPECT_EQ(Cell(table, 0, "object_store"), "512 MiB/1.0 GiB");
  EXPECT_EQ(Cell(table, 0, "workers"), "3");
  EXPECT_EQ(Cell(table, 0, "death_reason"), "-");
  EXPECT_EQ(Cell(table, 1, "state"), "DEAD");
  EXPECT_EQ(Cell(table, 1, "resources"), "-");
  EXPECT_EQ(Cell(table, 1, "death_reason"), "raylet exited");
  // JSON carries numbers, not the display strings.
  nlohmann::ordered_json alive_json = RowJson(table, table.rows[0]);
  EXPECT_EQ(alive_json["resources"]["CPU"]["used"], 1);
  EXPECT_EQ(alive_json["resources"]["CPU"]["total"], 2);
  EXPECT_EQ(alive_json["resources"]["GPU"]["used"], 0);
  EXPECT_EQ(alive_json["object_store"]["used_bytes"], 512 << 20);
  EXPECT_EQ(alive_json["object_store"]["capacity_bytes"], 1 << 30);
  EXPECT_EQ(alive_json["workers"], 3);
  EXPECT_TRUE(RowJson(table, table.rows[1])["resources"].is_null());
}

TEST(JobsTable, JoinsEachJobWithItsSubmission) {
  rpc::GetAllJobsReply jobs;
  rpc::JobInfo* submitted = jobs.add_jobs();
  submitted->set_job_id(std::string("\x01\0\0\0", 4));
  submitted->set_driver_pid(4242);
  submitted->set_start_time_ms(1'733'580'000'000);
  submitted->mutable_config()->set_namespace_("prod");
  rpc::JobInfo* interactive = jobs.add_jobs();
  interactive->set_job_id(std::string("\x02\0\0\0", 4));
  interactive->set_state(rpc::JobInfo::FINISHED);
  rpc::ListJobSubmissionsReply submissions;
  rpc::JobSubmission* submission = submissions.add_jobs();
  submission->set_submission_id("first");
  submission->set_job_id(submitted->job_id());
  submission->add_entrypoint("./driver");
  submission->add_entrypoint("a b");
  submission->set_state(rpc::JobSubmission::RUNNING);
  rpc::JobSubmission* waiting = submissions.add_jobs();
  waiting->set_submission_id("waiting");
  waiting->add_entrypoint("sleep");

  StateTable table = JobsTable(jobs, submissions);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(Cell(table, 0, "job_id"), "01000000");
  EXPECT_EQ(Cell(table, 0, "submission_id"), "first");
  EXPECT_EQ(Cell(table, 0, "state"), "RUNNING");
  EXPECT_EQ(Cell(table, 0, "driver_pid"), "4242");
  EXPECT_EQ(Cell(table, 0, "namespace"), "prod");
  EXPECT_EQ(Cell(table, 0, "entrypoint"), "./driver 'a b'");
  EXPECT_EQ(Cell(table, 1, "submission_id"), "-");
  EXPECT_EQ(Cell(table, 1, "state"), "FINISHED");
  EXPECT_EQ(Cell(table, 1, "end_time"), "-");
  // A submission whose driver registered no job is listed by its submission id.
  EXPECT_EQ(Cell(table, 2, "job_id"), "-");
  EXPECT_EQ(Cell(table, 2, "submission_id"), "waiting");
  EXPECT_EQ(Cell(table, 2, "state"), "PENDING");
  EXPECT_EQ(Cell(table, 2, "entrypoint"), "sleep");
  // A time is the local time in a table, milliseconds since the epoch in JSON.
  EXPECT_THAT(Cell(table, 0, "start_time"), ::testing::MatchesRegex("2024-12-0[78] [0-9:]{8}"));
  nlohmann::ordered_json json = RowJson(table, table.rows[0]);
  EXPECT_EQ(json["start_time_ms"], 1'733'580'000'000);
  EXPECT_TRUE(json["end_time_ms"].is_null());
  EXPECT_FALSE(json.contains("start_time"));
}

TEST(ActorsTable, NamesTheClassByItsFactoryAndPlacesLiveActors) {
  rpc::ListActorsReply actors;
  rpc::ActorInfo* actor = actors.add_actors();
  actor->set_actor_id(Id16('\x03'));
  actor->set_job_id(std::string("\x01\0\0\0", 4));
  actor->set_name("counter");
  actor->set_state(rpc::ActorInfo::ALIVE);
  actor->mutable_creation()->set_function_name("Counter::Create");
  actor->mutable_address()->set_node_id(Id16('\x01'));
  actor->set_pid(77);
  rpc::ActorInfo* dead = actors.add_actors();
  dead->set_actor_id(Id16('\x04'));
  dead->set_state(rpc::ActorInfo::DEAD);
  dead->set_death_cause(rpc::ActorInfo::KILLED);
  dead->set_death_message("killed by orrery::Kill");

  StateTable table = ActorsTable(actors);
  EXPECT_EQ(Cell(table, 0, "class"), "Counter::Create");
  EXPECT_EQ(Cell(table, 0, "name"), "counter");
  EXPECT_EQ(Cell(table, 0, "node_id"), NodeId::FromBinary(Id16('\x01'))->Hex());
  EXPECT_EQ(Cell(table, 0, "pid"), "77");
  EXPECT_EQ(Cell(table, 0, "death_cause"), "-");
  EXPECT_EQ(Cell(table, 1, "death_cause"), "KILLED");
  EXPECT_EQ(Cell(table, 1, "death_message"), "killed by orrery::Kill");
  EXPECT_EQ(Cell(table, 1, "node_id"), "-");
}

TEST(TasksTable, ShowsEachAttemptWithItsDurationAndError) {
  rpc::GetTaskEventsReply events;
  rpc::TaskAttempt* failed = events.add_tasks();
  failed->set_task_id(Id16('\x05'));
  failed->set_job_id(std::string("\x01\0\0\0", 4));
  failed->set_function_name("Divide");
  failed->set_state(rpc::FAILED);
  failed->set_error_type("TASK_ERROR: std::runtime_error");
  failed->set_error_message("division by zero");
  failed->set_running_us(1'000'000);
  failed->set_ended_us(1'012'300);
  rpc::TaskAttempt* running = events.add_tasks();
  running->set_task_id(Id16('\x06'));
  running->set_attempt(2);
  running->set_kind(rpc::ACTOR_TASK);
  running->set_state(rpc::RUNNING);
  running->set_running_us(5'000'000);
  rpc::TaskAttempt* waiting = events.add_tasks();
  waiting->set_task_id(Id16('\x07'));

  StateTable table = TasksTable(events, /*now_us=*/7'500'000);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(Cell(table, 0, "function"), "Divide");
  EXPECT_EQ(Cell(table, 0, "kind"), "NORMAL_TASK");
  EXPECT_EQ(Cell(table, 0, "state"), "FAILED");
  EXPECT_EQ(Cell(table, 0, "error_type"), "TASK_ERROR: std::runtime_error");
  EXPECT_EQ(Cell(table, 0, "error_message"), "division by zero");
  EXPECT_EQ(Cell(table, 0, "duration"), "12.3ms");
  EXPECT_EQ(Cell(table, 1, "attempt"), "2");
  EXPECT_EQ(Cell(table, 1, "kind"), "ACTOR_TASK");
  EXPECT_EQ(Cell(table, 1, "duration"), "2.50s") << "so far";
  EXPECT_EQ(Cell(table, 2, "state"), "SUBMITTED");
  EXPECT_EQ(Cell(table, 2, "duration"), "-");
  EXPECT_EQ(Cell(table, 2, "worker_id"), "-");
  // In JSON a run time is seconds, and no run is null.
  EXPECT_DOUBLE_EQ(RowJson(table, table.rows[0])["duration_s"].get<double>(), 0.0123);
  EXPECT_DOUBLE_EQ(RowJson(table, table.rows[1])["duration_s"].get<double>(), 2.5);
  EXPECT_TRUE(RowJson(table, table.rows[2])["duration_s"].is_null());
  EXPECT_FALSE(RowJson(table, table.rows[0]).contains("duration"));
}

TEST(DroppedTaskEventNotes, NameEachJobThatLostEvents) {
  rpc::GetTaskEventsReply events;
  rpc::JobTaskEventCounts* lossy = events.add_jobs();
  lossy->set_job_id(std::string("\x01\0\0\0", 4));
  lossy->set_dropped_by_workers(3);
  lossy->set_evicted_by_gcs(4);
  events.add_jobs()->set_job_id(std::string("\x02\0\0\0", 4));
  auto notes = DroppedTaskEventNotes(events);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes["01000000"], HasSubstr("note: 7 task events of job 01000000 were dropped"));
}

TEST(PlacementGroupsAndWorkersTables, CountBundlesAndShowWorkerStates) {
  rpc::GetAllPlacementGroupsReply groups;
  rpc::PlacementGroupInfo* group = groups.add_groups();
  group->set_placement_group_id(Id16('\x08'));
  group->set_name("trainers");
  group->set_strategy(rpc::STRICT_SPREAD);
  group->add_bundles();
  group->add_bundles();
  group->set_pending_reason("STRICT_SPREAD needs 2 nodes");
  StateTable table = PlacementGroupsTable(groups);
  EXPECT_EQ(Cell(table, 0, "strategy"), "STRICT_SPREAD");
  EXPECT_EQ(Cell(table, 0, "state"), "PENDING");
  EXPECT_EQ(Cell(table, 0, "bundles"), "2");
  EXPECT_EQ(Cell(table, 0, "pending_reason"), "STRICT_SPREAD needs 2 nodes");

  rpc::GetNodeStatsReply node;
  node.set_node_id(Id16('\x01'));
  rpc::WorkerStats* worker = node.add_workers();
  worker->set_worker_id(Id16('\x09'));
  worker->set_pid(99);
  worker->set_state(rpc::WorkerStats::LEASED);
  worker->set_is_actor_worker(true);
  StateTable workers = WorkersTable({node});
  EXPECT_EQ(Cell(workers, 0, "node_id"), NodeId::FromBinary(Id16('\x01'))->Hex());
  EXPECT_EQ(Cell(workers, 0, "state"), "LEASED");
  EXPECT_EQ(Cell(workers, 0, "is_actor_worker"), "true");
  EXPECT_EQ(Cell(workers, 0, "blocked"), "false");
  EXPECT_EQ(Cell(workers, 0, "job_id"), "-");
}

}  // namespace
}  // namespace orrery::state
