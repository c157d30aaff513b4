// Every service refuses what it should, says why, and goes on serving: missing or wrong
// tokens, other versions, garbage bytes, well-formed but wrong requests, oversized messages.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "orrery/version.h"
#include "src/common/file_util.h"
#include "src/common/random.h"
#include "tests/integration/test_cluster.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using GcsStub = rpc::GcsService::Stub;
using RayletStub = rpc::NodeManagerService::Stub;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.gcs_flags = {"--max-message-bytes=1048576"};
    auto cluster = TestCluster::Start(options);
    ASSERT_OK(cluster.status());
    cluster_ = std::move(*cluster);
  }

  // A GCS client with its own token and message limit.
  std::unique_ptr<gcs::GrpcGcsClient> GcsClientWith(const std::string& token,
                                                    int64_t max_message_bytes = rpc::RpcOptions().max_message_bytes) {
    rpc::RpcOptions rpc;
    rpc.max_message_bytes = max_message_bytes;
    return std::make_unique<gcs::GrpcGcsClient>(cluster_->gcs_address(), rpc::ClientOptions{"GCS", token, rpc});
  }

  // The GCS still answers a proper call.
  void ExpectGcsServes() {
    EXPECT_OK(cluster_->Gcs(&GcsStub::async::GetAllNodes, rpc::GetAllNodesRequest()).status());
  }

  rpc::NodeInfo ValidNode() {
    rpc::NodeInfo node;
    node.set_node_id(NodeId::FromRandom().Binary());
    node.set_node_ip("127.0.0.1");
    node.set_node_manager_port(1);
    node.set_version(ORRERY_VERSION_STRING);
    return node;
  }

  absl::Status Register(const rpc::NodeInfo& node) {
    rpc::RegisterNodeRequest request;
    *request.mutable_node() = node;
    return cluster_->Gcs(&GcsStub::async::RegisterNode, request).status();
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(BadInputTest, CallsWithoutTheTokenOrWithAWrongOneAreRefusedAndLogged) {
  auto none = GcsClientWith("")->client().CallSync(&GcsStub::async::GetAllNodes, rpc::GetAllNodesRequest());
  EXPECT_THAT(none.status(), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  auto wrong = GcsClientWith("not-the-token")->client().CallSync(&GcsStub::async::GetAllNodes, rpc::GetAllNodesRequest());
  EXPECT_THAT(wrong.status(), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong cluster token")));
  ExpectGcsServes();

  rpc::RpcOptions rpc;
  raylet::GrpcRayletClient raylet("127.0.0.1:" + std::to_string(cluster_->raylet(0).port),
                                  rpc::ClientOptions{"raylet", "not-the-token", rpc});
  auto refused = raylet.client().CallSync(&RayletStub::async::GetNodeStats, rpc::GetNodeStatsRequest());
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_OK(cluster_->Raylet(0, &RayletStub::async::GetNodeStats, rpc::GetNodeStatsRequest()).status());

  // The refusal names the peer in the GCS's log.
  EXPECT_TRUE(Eventually([&] {
    for (const auto& entry : std::filesystem::directory_iterator(cluster_->session().LogsDir())) {
      if (entry.path().filename().string().rfind("gcs-", 0) != 0) continue;
      auto log = ReadFileToString(entry.path());
      if (log.ok() && log->find("refused a call from ipv4:127.0.0.1") != std::string::npos) return true;
    }
    return false;
  }));
}

TEST_F(BadInputTest, RegistrationsFromAnotherVersionAreRefusedNamingBothVersions) {
  auto both_versions = AllOf(HasSubstr("0.0.0-other"), HasSubstr(ORRERY_VERSION_STRING));
  rpc::NodeInfo node = ValidNode();
  node.set_version("0.0.0-other");
  EXPECT_THAT(Register(node), StatusIs(absl::StatusCode::kFailedPrecondition, both_versions));

  rpc::AddJobRequest job;
  job.mutable_job()->set_job_id(JobIdFromInt(77).Binary());
  job.mutable_job()->set_version("0.0.0-other");
  EXPECT_THAT(cluster_->Gcs(&GcsStub::async::AddJob, job).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, both_versions));

  rpc::RegisterWorkerRequest worker;
  worker.set_worker_id(WorkerId::FromRandom().Binary());
  worker.set_worker_type(rpc::DRIVER);
  worker.set_pid(getpid());
  worker.set_version("0.0.0-other");
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::RegisterWorker, worker).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, both_versions));
  ExpectGcsServes();
}

TEST_F(BadInputTest, GarbageBytesFailTheCallAndTheServerServesOn) {
  grpc::GenericStub generic(rpc::MakeChannel(cluster_->gcs_address(), rpc::RpcOptions(), cluster_->token()));
  for (const char* method : {"/orrery.rpc.GcsService/RegisterNode", "/orrery.rpc.GcsService/AddJob",
                             "/orrery.rpc.GcsService/NoSuchMethod"}) {
    std::string junk = RandomBytes(512);
    grpc::Slice slice(junk);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::ClientContext context;
    context.AddMetadata("x-orrery-token", cluster_->token());
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      status = s;
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_FALSE(status.ok()) << method;
  }
  ExpectGcsServes();
}

TEST_F(BadInputTest, RawGarbageOnTheTcpPortIsDroppedAndTheServerServesOn) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(cluster_->gcs_port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string junk = RandomBytes(64 * 1024);
  ASSERT_GT(write(fd, junk.data(), junk.size()), 0);
  char buf[4096];
  // The server answers with an HTTP/2 GOAWAY or just closes; either way the read ends.
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
  ExpectGcsServes();
}

TEST_F(BadInputTest, WellFormedButWrongRequestsAreRefusedWithTheReason) {
  rpc::NodeInfo short_id = ValidNode();
  short_id.set_node_id("abc");
  EXPECT_THAT(Register(short_id), StatusIs(kInvalid, HasSubstr("NodeId must be 16 bytes")));
  rpc::NodeInfo negative = ValidNode();
  (*negative.mutable_total_resources()->mutable_quantities())["CPU"] = -5;
  EXPECT_THAT(Register(negative), StatusIs(kInvalid, HasSubstr("must be >= 0")));
  rpc::NodeInfo absurd = ValidNode();
  (*absurd.mutable_total_resources()->mutable_quantities())["CPU"] = INT64_MAX;
  EXPECT_THAT(Register(absurd), StatusIs(kInvalid, HasSubstr("above the limit")));
  rpc::NodeInfo no_port = ValidNode();
  no_port.set_node_manager_port(70000);
  EXPECT_THAT(Register(no_port), StatusIs(kInvalid, HasSubstr("not a port")));

  rpc::GetJobRequest unknown_job;
  unknown_job.set_job_id(JobIdFromInt(999).Binary());
  EXPECT_THAT(cluster_->Gcs(&GcsStub::async::GetJob, unknown_job).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no job 000003e7")));
  rpc::KvPutRequest empty_key;
  EXPECT_THAT(cluster_->Gcs(&GcsStub::async::KvPut, empty_key).status(), StatusIs(kInvalid, HasSubstr("key is empty")));
  rpc::ReportWorkerFailureRequest bad_death;
  bad_death.mutable_death()->set_worker_id("x");
  EXPECT_THAT(cluster_->Gcs(&GcsStub::async::ReportWorkerFailure, bad_death).status(), StatusIs(kInvalid));

  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  WorkerId holder = WorkerId::FromRandom();
  auto negative_lease = LeaseRequest(*job, {}, holder);
  (*negative_lease.mutable_lease()->mutable_resources()->mutable_quantities())["CPU"] = -10000;
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::RequestWorkerLease, negative_lease).status(),
              StatusIs(kInvalid, HasSubstr("CPU must be >= 0")));
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::RequestWorkerLease, LeaseRequest(*job, {{"GPU", 1.5}}, holder))
                  .status(),
              StatusIs(kInvalid, HasSubstr("whole number")));
  auto no_lease_id = LeaseRequest(*job, {{"CPU", 1}}, holder);
  no_lease_id.mutable_lease()->set_lease_id("");
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::RequestWorkerLease, no_lease_id).status(),
              StatusIs(kInvalid, HasSubstr("lease_id")));
  rpc::ReturnWorkerRequest unknown_return;
  unknown_return.set_lease_id(LeaseId::FromRandom().Binary());
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::ReturnWorker, unknown_return).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no granted lease")));
  rpc::RegisterWorkerRequest stranger;
  stranger.set_worker_id(WorkerId::FromRandom().Binary());
  stranger.set_worker_type(rpc::WORKER);
  stranger.set_pid(getpid());
  stranger.set_job_id(job->Binary());
  stranger.set_version(ORRERY_VERSION_STRING);
  EXPECT_THAT(cluster_->Raylet(0, &RayletStub::async::RegisterWorker, stranger).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not started by this raylet")));
  ExpectGcsServes();
  EXPECT_OK(cluster_->Raylet(0, &RayletStub::async::GetNodeStats, rpc::GetNodeStatsRequest()).status());
}

TEST_F(BadInputTest, OversizedMessagesAreRefusedNamingTheLimit) {
  rpc::KvPutRequest big;
  big.set_namespace_("test");
  big.set_key("big");
  big.set_value(std::string(2 * 1024 * 1024, 'x'));
  // Refused by the GCS, whose limit is 1 MiB.
  auto refused = GcsClientWith(cluster_->token())->client().CallSync(&GcsStub::async::KvPut, big);
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("1048576")));
  // Refused before sending by a client whose own limit is 1 MiB.
  auto local = GcsClientWith(cluster_->token(), 1024 * 1024)->client().CallSync(&GcsStub::async::KvPut, big);
  EXPECT_THAT(local.status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("exceeds the message limit of 1048576 bytes")));
  ExpectGcsServes();
}

}  // namespace
}  // namespace orrery::testing
