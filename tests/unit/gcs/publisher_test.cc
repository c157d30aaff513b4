// The GCS change feed: sequence numbers, replay of what a reconnecting subscriber missed,
// snapshots when it cannot be replayed, key filters, and dropping a subscriber that falls behind.
#include "src/gcs/publisher.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery::gcs {
namespace {

using ::testing::ElementsAre;

class RecordingSink : public SubscriberSink {
 public:
  explicit RecordingSink(size_t capacity = 1000) : capacity_(capacity) {}
  bool Send(const rpc::PubsubMessage& message) override {
    if (received.size() >= capacity_) return false;
    received.push_back(message);
    return true;
  }
  void Close(const absl::Status& status) override { closed = status; }

  std::vector<int64_t> Seqs() const {
    std::vector<int64_t> seqs;
    for (const auto& m : received) seqs.push_back(m.seq());
    return seqs;
  }

  std::vector<rpc::PubsubMessage> received;
  std::optional<absl::Status> closed;

 private:
  size_t capacity_;
};

rpc::PubsubMessage JobMessage(uint32_t job) {
  rpc::PubsubMessage message;
  message.mutable_job()->set_job_id(std::to_string(job));
  return message;
}

class PublisherTest : public ::testing::Test {
 protected:
  PublisherTest() : publisher_({/*history_per_channel=*/3}, "instance-1") {
    publisher_.RegisterChannel(rpc::JOB, /*is_state=*/true, [this] { return state_; });
    publisher_.RegisterChannel(rpc::WORKER_DEATH, /*is_state=*/false, [this] { return events_; });
  }

  rpc::SubscribeRequest Request(rpc::Channel channel, int64_t after_seq, const std::string& instance,
                                const std::string& key = "") {
    rpc::SubscribeRequest request;
    request.set_gcs_instance_id(instance);
    auto* sub = request.add_channels();
    sub->set_channel(channel);
    sub->set_after_seq(after_seq);
    sub->set_key(key);
    return request;
  }

  void PublishJobs(int n) {
    for (int i = 0; i < n; ++i) {
      publisher_.Publish(rpc::JOB, "", JobMessage(static_cast<uint32_t>(publisher_.CurrentSeq(rpc::JOB) + 1)));
    }
  }

  Publisher publisher_;
  std::vector<rpc::PubsubMessage> state_;
  std::vector<rpc::PubsubMessage> events_;
};

TEST_F(PublisherTest, NumbersEachChannelsMessagesInOrder) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 0, "")));
  sink->received.clear();
  PublishJobs(3);
  EXPECT_THAT(sink->Seqs(), ElementsAre(1, 2, 3));
  EXPECT_EQ(sink->received[0].gcs_instance_id(), "instance-1");
  EXPECT_EQ(publisher_.CurrentSeq(rpc::WORKER_DEATH), 0);
}

TEST_F(PublisherTest, ANewSubscriberOfAStateChannelGetsASnapshotFirst) {
  PublishJobs(2);
  state_ = {JobMessage(1), JobMessage(2)};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 0, "")));
  ASSERT_EQ(sink->received.size(), 3u);
  EXPECT_TRUE(sink->received[0].snapshot());
  EXPECT_EQ(sink->received[0].job().job_id(), "1");
  EXPECT_TRUE(sink->received[2].snapshot_end());
  EXPECT_EQ(sink->received[2].seq(), 2);  // the baseline to resubscribe from
}

TEST_F(PublisherTest, ANewSubscriberOfAnEventChannelGetsOnlyWhatHappensNext) {
  publisher_.Publish(rpc::WORKER_DEATH, "", rpc::PubsubMessage());
  events_ = {rpc::PubsubMessage()};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::WORKER_DEATH, 0, "")));
  ASSERT_EQ(sink->received.size(), 1u);
  EXPECT_TRUE(sink->received[0].snapshot_end());
  EXPECT_EQ(sink->received[0].seq(), 1);
}

TEST_F(PublisherTest, AReconnectingSubscriberGetsExactlyWhatItMissed) {
  PublishJobs(4);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 2, "instance-1")));
  EXPECT_THAT(sink->Seqs(), ElementsAre(3, 4));
  for (const auto& m : sink->received) EXPECT_FALSE(m.snapshot());
  // Up to date: nothing to replay.
  auto current = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(current, Request(rpc::JOB, 4, "instance-1")));
  EXPECT_TRUE(current->received.empty());
}

TEST_F(PublisherTest, ASubscriberBehindTheHistoryGetsASnapshot) {
  PublishJobs(6);  // history keeps 4, 5, 6
  state_ = {JobMessage(9)};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 1, "instance-1")));
  ASSERT_EQ(sink->received.size(), 2u);
  EXPECT_TRUE(sink->received[0].snapshot());
  EXPECT_TRUE(sink->received[1].snapshot_end());
  EXPECT_EQ(sink->received[1].seq(), 6);
  // Exactly at the edge of the history it is still a replay.
  auto edge = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(edge, Request(rpc::JOB, 3, "instance-1")));
  EXPECT_THAT(edge->Seqs(), ElementsAre(4, 5, 6));
}

TEST_F(PublisherTest, ASubscriberOfAnotherGcsInstanceGetsASnapshot) {
  PublishJobs(2);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 1, "instance-0")));
  ASSERT_FALSE(sink->received.empty());
  EXPECT_TRUE(sink->received.back().snapshot_end());
}

TEST_F(PublisherTest, AnEventSubscriberThatMissedTooMuchGetsTheRetainedEvents) {
  for (int i = 0; i < 5; ++i) publisher_.Publish(rpc::WORKER_DEATH, "", rpc::PubsubMessage());
  events_ = {rpc::PubsubMessage(), rpc::PubsubMessage()};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::WORKER_DEATH, 1, "instance-1")));
  ASSERT_EQ(sink->received.size(), 3u);
  EXPECT_TRUE(sink->received[0].snapshot());
  EXPECT_TRUE(sink->received[2].snapshot_end());
}

TEST_F(PublisherTest, AKeyedSubscriptionSeesOnlyItsKey) {
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::WORKER_DEATH, 0, "", "holder-a")));
  sink->received.clear();
  publisher_.Publish(rpc::WORKER_DEATH, "holder-b", rpc::PubsubMessage());
  publisher_.Publish(rpc::WORKER_DEATH, "holder-a", rpc::PubsubMessage());
  ASSERT_EQ(sink->received.size(), 1u);
  EXPECT_EQ(sink->received[0].key(), "holder-a");
  EXPECT_EQ(sink->received[0].seq(), 2);
}

TEST_F(PublisherTest, ASubscriberThatFallsBehindIsDroppedAndTheRestServed) {
  auto slow = std::make_shared<RecordingSink>(/*capacity=*/2);
  auto fast = std::make_shared<RecordingSink>();
  ASSERT_OK(publisher_.Subscribe(slow, Request(rpc::WORKER_DEATH, 0, "")));
  ASSERT_OK(publisher_.Subscribe(fast, Request(rpc::WORKER_DEATH, 0, "")));
  for (int i = 0; i < 4; ++i) publisher_.Publish(rpc::WORKER_DEATH, "", rpc::PubsubMessage());
  ASSERT_TRUE(slow->closed.has_value());
  EXPECT_THAT(*slow->closed, testing::StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(publisher_.num_subscribers(), 1u);
  EXPECT_EQ(fast->received.size(), 5u);
}

TEST_F(PublisherTest, UnknownChannelsAreRefusedAndStopClosesEveryone) {
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_THAT(publisher_.Subscribe(sink, Request(rpc::NODE, 0, "")),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(publisher_.Subscribe(sink, Request(rpc::JOB, 0, "")));
  publisher_.Stop();
  ASSERT_TRUE(sink->closed.has_value());
  EXPECT_THAT(*sink->closed, testing::StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace orrery::gcs
