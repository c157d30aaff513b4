#include "src/gcs/client/gcs_subscriber.h"

#include "grpcpp/support/client_callback.h"
#include "src/common/log.h"

namespace orrery::gcs {

// One attempt at the stream; lives until gRPC calls OnDone.
class GcsSubscriber::Stream final : public grpc::ClientReadReactor<rpc::PubsubMessage> {
 public:
  Stream(GcsSubscriber* owner, rpc::SubscribeRequest request)
      : token_(owner->streams_.Acquire()), owner_(owner), request_(std::move(request)) {}

  void Begin(std::shared_ptr<Stream> self) {
    self_ = std::move(self);
    owner_->client_.client().PrepareContext(&context_, /*timeout_ms=*/0);
    owner_->client_.client().stub()->async()->Subscribe(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    owner_->OnMessage(message_);
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    owner_->OnStreamDone(status);
    self_.reset();
  }

 private:
  // First member, so released last: Stop() waits until the context is gone (in_flight.h).
  rpc::InFlight::Token token_;
  GcsSubscriber* owner_;
  rpc::SubscribeRequest request_;
  grpc::ClientContext context_;
  rpc::PubsubMessage message_;
  std::shared_ptr<Stream> self_;
};

GcsSubscriber::GcsSubscriber(const GrpcGcsClient& client, WorkerId subscriber_id)
    : client_(client), subscriber_id_(subscriber_id) {}

GcsSubscriber::~GcsSubscriber() { Stop(); }

void GcsSubscriber::Subscribe(rpc::Channel channel, std::string key, Handler handler) {
  absl::MutexLock lock(&mu_);
  channels_[channel] = ChannelState{std::move(key), std::move(handler), 0};
}

void GcsSubscriber::Start() {
  absl::MutexLock lock(&mu_);
  if (!stopped_) return;
  stopped_ = false;
  Connect();
}

void GcsSubscriber::Connect() {
  rpc::SubscribeRequest request;
  request.set_subscriber_id(subscriber_id_.Binary());
  request.set_gcs_instance_id(gcs_instance_id_);
  for (const auto& [channel, state] : channels_) {
    auto* sub = request.add_channels();
    sub->set_channel(static_cast<rpc::Channel>(channel));
    sub->set_after_seq(state.last_seq);
    sub->set_key(state.key);
  }
  ++attempts_;
  stream_ = std::make_shared<Stream>(this, std::move(request));
  stream_->Begin(stream_);
}

void GcsSubscriber::OnMessage(const rpc::PubsubMessage& message) {
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    connected_ = true;
    attempts_ = 0;
    gcs_instance_id_ = message.gcs_instance_id();
    auto it = channels_.find(message.channel());
    if (it == channels_.end()) return;
    it->second.last_seq = message.seq();
    handler = it->second.handler;
  }
  const auto& dispatcher = client_.client().options().dispatcher;
  if (dispatcher) {
    dispatcher([handler, message] { handler(message); });
  } else {
    handler(message);
  }
}

void GcsSubscriber::OnStreamDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  connected_ = false;
  stream_.reset();
  if (stopped_) return;
  ++reconnects_;
  int64_t delay = rpc::internal::BackoffMs(client_.client().options().rpc, std::max(attempts_, 1));
  spdlog::debug("GCS subscription ended ({}); reconnecting in {} ms", status.error_message(), delay);
  reconnect_pending_ = true;
  reconnect_alarm_ = std::make_unique<grpc::Alarm>();
  reconnect_alarm_->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay), [this](bool ok) {
    absl::MutexLock lock(&mu_);
    reconnect_pending_ = false;
    if (ok && !stopped_) Connect();
  });
}

void GcsSubscriber::Stop() {
  std::shared_ptr<Stream> stream;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stream = stream_;
    if (reconnect_alarm_) reconnect_alarm_->Cancel();
  }
  if (stream) stream->Cancel();
  stream.reset();  // our reference must not keep it alive while we wait for it to go
  // Wait until the stream is done and no reconnect alarm can still fire.
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](GcsSubscriber* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->stream_ == nullptr && !s->reconnect_pending_;
        },
        this));
  }
  streams_.WaitForNone();
}

bool GcsSubscriber::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

int64_t GcsSubscriber::last_seq(rpc::Channel channel) const {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.last_seq;
}

int GcsSubscriber::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

}  // namespace orrery::gcs
