// ObjectFetcher with owner addresses a peer made: the address of an object's owner comes from
// an unpacked ObjectRef or a task argument, so its ids may be malformed. A read of such an object
// fails with a stored error naming the object and what was wrong, and the process lives on.
#include "src/core_worker/object_fetcher.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_gcs_client.h"

#include "src/core_worker/object_conversion.h"

namespace orrery::core {
namespace {

using ::testing::HasSubstr;

class ObjectFetcherTest : public ::testing::Test {
 protected:
  ObjectFetcherTest() {
    // Nothing listens on port 1: were the owner asked, the call would fail at once, and the GCS
    // (asked next) would report it dead, which is where a malformed id used to abort.
    owner_.set_worker_id(WorkerId::FromRandom().Binary());
    owner_.set_node_id(NodeId::FromRandom().Binary());
    owner_.set_ip("127.0.0.1");
    owner_.set_port(1);
    loop_->StartThread();
  }
  ~ObjectFetcherTest() override {
    owners_.Stop();
    loop_->Stop();
  }

  static rpc::ClientOptions NoRetries() {
    rpc::ClientOptions options;
    options.rpc.retry_budget_ms = 0;
    return options;
  }

  // Fetches `id_` from `owner_` and waits (bounded) for what Get would read.
  rpc::ErrorInfo FetchError() {
    gcs_.worker_failures.add_deaths()->set_worker_id(owner_.worker_id());
    ObjectFetcher fetcher(
        owners_, gcs_, loop_, rpc::WorkerAddress(), store_,
        [this](const ObjectId& id, rpc::SerializedObject&& object) { store_.Put(id, FromWire(std::move(object))); });
    fetcher.Fetch(id_, owner_);
    std::vector<Value> values = store_.Wait({id_}, 1, 10'000);
    rpc::ErrorInfo error;
    EXPECT_NE(values[0], nullptr) << "the read neither failed nor finished";
    if (values[0] != nullptr) {
      EXPECT_TRUE(IsError(*values[0], &error)) << "the read did not fail";
    }
    return error;
  }

  std::shared_ptr<EventLoop> loop_ = EventLoop::Create("test");
  MemoryStore store_;
  gcs::FakeGcsClient gcs_;
  OwnerClients owners_{NoRetries()};
  rpc::WorkerAddress owner_;
  const ObjectId id_ = ObjectId::FromRandom();
};

// Regression (issue 23): WorkerId::FromBinary of the owner's id was dereferenced unchecked.
TEST_F(ObjectFetcherTest, AnOwnerWithAMalformedWorkerIdFailsTheReadNamingTheObject) {
  owner_.set_worker_id("not a worker id");
  rpc::ErrorInfo error = FetchError();
  EXPECT_EQ(error.type(), rpc::ErrorInfo::OBJECT_LOST);
  EXPECT_THAT(error.message(), HasSubstr(id_.Hex()));
  EXPECT_THAT(error.message(), HasSubstr("worker id"));
}

// Regression (issue 23): NodeId::FromOptionalBinary of the owner's node was dereferenced unchecked.
TEST_F(ObjectFetcherTest, AnOwnerWithAMalformedNodeIdFailsTheReadNamingTheObject) {
  owner_.set_node_id("short");
  rpc::ErrorInfo error = FetchError();
  EXPECT_EQ(error.type(), rpc::ErrorInfo::OBJECT_LOST);
  EXPECT_THAT(error.message(), HasSubstr(id_.Hex()));
  EXPECT_THAT(error.message(), HasSubstr("node id"));
}

}  // namespace
}  // namespace orrery::core
