// The GCS's tables and change feed against a real orrery-gcs: node registration (idempotent),
// job ids (a retried request gets the same id), the namespaced KV, and subscribers that fall
// behind or lose the GCS and catch up when they reconnect.
#include <signal.h>
#include <unistd.h>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/version.h"
#include "src/common/process.h"
#include "src/rpc/rpc_options.h"
#include "tests/integration/test_cluster.h"
#include "tests/integration/test_subscription.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using Stub = rpc::GcsService::Stub;

std::unique_ptr<TestCluster> StartCluster(ClusterOptions options = {}) {
  auto cluster = TestCluster::Start(options);
  EXPECT_OK(cluster.status());
  return cluster.ok() ? std::move(*cluster) : nullptr;
}

TEST(GcsTest, ARayletRegistersWithItsResourcesAndRegisteringAgainChangesNothing) {
  RayletOptions raylet;
  raylet.num_cpus = 3;
  raylet.resources = R"({"disk": 2.5})";
  raylet.extra_flags = {"--memory=3221225472"};
  ClusterOptions options;
  options.head = raylet;
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);
  auto nodes = cluster->Gcs(&Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
  ASSERT_OK(nodes.status());
  ASSERT_EQ(nodes->nodes_size(), 1);
  rpc::NodeInfo node = nodes->nodes(0);
  EXPECT_EQ(node.node_id(), cluster->raylet(0).node_id.Binary());
  EXPECT_EQ(node.state(), rpc::NodeInfo::ALIVE);
  EXPECT_EQ(node.total_resources().quantities().at("CPU"), FixedPoint::FromInt(3).raw());
  EXPECT_EQ(node.total_resources().quantities().at("disk"), FixedPoint::FromDouble(2.5).raw());
  // Ray's standard byte resources: --memory, and the object store's size.
  EXPECT_EQ(node.total_resources().quantities().at("memory"), FixedPoint::FromInt(3221225472).raw());
  EXPECT_EQ(node.total_resources().quantities().at("object_store_memory"),
            FixedPoint::FromInt(node.object_store_memory()).raw());
  EXPECT_EQ(node.version(), ORRERY_VERSION_STRING);

  rpc::RegisterNodeRequest again;
  *again.mutable_node() = node;
  ASSERT_OK(cluster->Gcs(&Stub::async::RegisterNode, again).status());
  nodes = cluster->Gcs(&Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
  ASSERT_OK(nodes.status());
  EXPECT_EQ(nodes->nodes_size(), 1);
}

TEST(GcsTest, ANodeDeclaredDeadCannotComeBackUnderTheSameId) {
  auto cluster = StartCluster();
  ASSERT_NE(cluster, nullptr);
  auto nodes = cluster->Gcs(&Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
  ASSERT_OK(nodes.status());
  rpc::NodeInfo node = nodes->nodes(0);
  cluster->KillRaylet(0, SIGKILL);
  rpc::GetAllNodesRequest all;
  all.set_include_dead(true);
  ASSERT_TRUE(Eventually([&] {
    auto now = cluster->Gcs(&Stub::async::GetAllNodes, all);
    return now.ok() && now->nodes_size() == 1 && now->nodes(0).state() == rpc::NodeInfo::DEAD;
  }));
  rpc::RegisterNodeRequest again;
  *again.mutable_node() = node;
  EXPECT_THAT(cluster->Gcs(&Stub::async::RegisterNode, again).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was declared dead")));
}

// Calls GetNextJobId with an explicit request id, as a retrying client would.
absl::StatusOr<JobId> NextJobId(TestCluster& cluster, const std::string& request_id) {
  grpc::ClientContext context;
  context.AddMetadata(rpc::kTokenMetadataKey, cluster.token());
  context.AddMetadata(rpc::kRequestIdMetadataKey, request_id);
  rpc::GetNextJobIdRequest request;
  rpc::GetNextJobIdReply reply;
  absl::Notification done;
  grpc::Status status;
  cluster.gcs_client().client().stub()->async()->GetNextJobId(&context, &request, &reply, [&](grpc::Status s) {
    status = s;
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) return absl::InternalError(status.error_message());
  return JobId::FromBinary(reply.job_id());
}

TEST(GcsTest, JobIdsIncreaseAndARetriedRequestGetsTheSameOne) {
  auto cluster = StartCluster();
  ASSERT_NE(cluster, nullptr);
  auto first = NextJobId(*cluster, "request-a");
  auto retried = NextJobId(*cluster, "request-a");
  auto second = NextJobId(*cluster, "request-b");
  ASSERT_OK(first.status());
  ASSERT_OK(retried.status());
  ASSERT_OK(second.status());
  EXPECT_EQ(*first, *retried);
  EXPECT_EQ(JobIdToInt(*second), JobIdToInt(*first) + 1);
}

TEST(GcsTest, TheInternalKvIsNamespaced) {
  auto cluster = StartCluster();
  ASSERT_NE(cluster, nullptr);
  auto put = [&](const std::string& ns, const std::string& key, const std::string& value, bool overwrite) {
    rpc::KvPutRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_value(value);
    request.set_overwrite(overwrite);
    auto reply = cluster->Gcs(&Stub::async::KvPut, request);
    EXPECT_OK(reply.status());
    return reply.ok() && reply->added();
  };
  auto get = [&](const std::string& ns, const std::string& key) -> std::optional<std::string> {
    rpc::KvGetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    auto reply = cluster->Gcs(&Stub::async::KvGet, request);
    if (!reply.ok() || !reply->found()) return std::nullopt;
    return reply->value();
  };
  EXPECT_TRUE(put("a", "code/1", "one", true));
  EXPECT_TRUE(put("b", "code/1", "other", true));
  EXPECT_TRUE(put("a", "code/2", "two", true));
  EXPECT_FALSE(put("a", "code/1", "ignored", /*overwrite=*/false));
  EXPECT_EQ(get("a", "code/1"), "one");
  EXPECT_EQ(get("b", "code/1"), "other");
  EXPECT_EQ(get("c", "code/1"), std::nullopt);

  rpc::KvKeysRequest keys;
  keys.set_namespace_("a");
  keys.set_prefix("code/");
  auto listed = cluster->Gcs(&Stub::async::KvKeys, keys);
  ASSERT_OK(listed.status());
  EXPECT_THAT(listed->keys(), UnorderedElementsAre("code/1", "code/2"));

  rpc::KvDelRequest del;
  del.set_namespace_("a");
  del.set_key("code/");
  del.set_by_prefix(true);
  auto deleted = cluster->Gcs(&Stub::async::KvDel, del);
  ASSERT_OK(deleted.status());
  EXPECT_EQ(deleted->deleted(), 2);
  EXPECT_EQ(get("a", "code/1"), std::nullopt);
  EXPECT_EQ(get("b", "code/1"), "other");
}

TEST(GcsTest, ASubscriberThatFellBehindReconnectsAndGetsWhatItMissed) {
  ClusterOptions options;
  options.gcs_flags = {"--pubsub-max-queued=4"};
  options.start_raylet = false;
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);

  // A subscriber that stops reading until released: the GCS's queue for it overflows.
  absl::Notification release;
  absl::Mutex mu;
  std::set<std::string> seen;
  int snapshots = 0;
  gcs::GcsSubscriber subscriber(cluster->gcs_client(), WorkerId::FromRandom());
  subscriber.Subscribe(rpc::JOB, "", [&](const rpc::PubsubMessage& message) {
    if (message.snapshot_end()) return;
    release.WaitForNotification();
    absl::MutexLock lock(&mu);
    if (message.snapshot()) ++snapshots;
    seen.insert(message.job().job_id());
  });
  subscriber.Start();
  ASSERT_TRUE(Eventually([&] { return subscriber.connected(); }));

  // Large messages, so that the transport's buffers fill and the GCS's queue backs up.
  std::map<std::string, std::string> padding = {{"PADDING", std::string(1024 * 1024, 'p')}};
  std::set<std::string> created;
  for (int i = 0; i < 32; ++i) {
    auto job = cluster->CreateJob(padding);
    ASSERT_OK(job.status());
    created.insert(job->Binary());
  }
  release.Notify();
  EXPECT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return seen == created;
  }));
  EXPECT_GE(subscriber.reconnects(), 1);
  // It caught up from the history, not from a snapshot.
  absl::MutexLock lock(&mu);
  EXPECT_EQ(snapshots, 0);
}

TEST(GcsTest, ASubscriberResyncsFromASnapshotWhenTheGcsIsReplaced) {
  ClusterOptions options;
  options.start_raylet = false;
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);
  ASSERT_OK(cluster->CreateJob().status());
  Subscription jobs(cluster->gcs_client(), rpc::JOB);
  ASSERT_TRUE(jobs.WaitFor([](const rpc::PubsubMessage& m) { return m.snapshot_end(); }));

  // A new GCS on the same port knows nothing of the old one's sequence numbers.
  kill(cluster->gcs_pid(), SIGKILL);
  std::vector<std::string> args = {"--port=" + std::to_string(cluster->gcs_port()), "--host=127.0.0.1",
                                   "--session-dir=" + cluster->session().path(),
                                   "--token-file=" + cluster->session().TokenFile()};
  auto replacement = launcher::StartDaemon(BinDir() + "/orrery-gcs", args, cluster->session().LogsDir() + "/gcs2.out",
                                           20'000, /*die_with_caller=*/true);
  ASSERT_OK(replacement.status());
  EXPECT_TRUE(jobs.WaitFor([](const rpc::PubsubMessage& m) { return m.snapshot_end(); }));
  EXPECT_GE(jobs.subscriber().reconnects(), 1);
  kill(-replacement->pid, SIGKILL);
  WaitForExit(replacement->pidfd, 5000);
  TryReap(replacement->pidfd);
  close(replacement->pidfd);
}

}  // namespace
}  // namespace orrery::testing
