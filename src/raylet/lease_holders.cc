#include "src/raylet/lease_holders.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"

namespace orrery::raylet {

namespace {
// The holder answers at once (it only marks or looks up its leases); past this it is stuck or
// gone.
constexpr int64_t kAnswerTimeoutMs = 2'000;
}  // namespace

LeaseHolders::Client* LeaseHolders::ClientFor(const rpc::WorkerAddress& holder) {
  auto id = WorkerId::FromBinary(holder.worker_id());
  if (!id.ok() || holder.port() <= 0) return nullptr;
  std::unique_ptr<Client>& client = clients_[*id];
  if (client == nullptr) {
    std::string address = absl::StrCat(holder.ip(), ":", holder.port());
    rpc::ClientOptions options = options_;
    options.peer_name = "lease holder at " + address;
    client = std::make_unique<Client>(rpc::MakeChannel(address, options), std::move(options));
  }
  return client.get();
}

void LeaseHolders::AskToYield(const rpc::WorkerAddress& holder, const std::vector<LeaseId>& leases) {
  Client* client = ClientFor(holder);
  if (client == nullptr) return;
  rpc::YieldIdleLeasesRequest request;
  for (const LeaseId& lease : leases) request.add_lease_ids(lease.Binary());
  rpc::CallOptions call;
  call.timeout_ms = kAnswerTimeoutMs;
  client->Call(&rpc::CoreWorkerService::Stub::async::YieldIdleLeases, request, call,
               [](absl::StatusOr<rpc::YieldIdleLeasesReply> reply) {
                 if (!reply.ok()) spdlog::debug("asking for idle leases back: {}", reply.status().message());
               });
}

void LeaseHolders::CheckLeases(const rpc::WorkerAddress& holder, const std::vector<LeaseId>& leases,
                               std::function<void(absl::StatusOr<std::vector<LeaseId>>)> done) {
  Client* client = ClientFor(holder);
  if (client == nullptr) return done(absl::InvalidArgumentError("the lease holder has no address"));
  rpc::CheckLeasesRequest request;
  for (const LeaseId& lease : leases) request.add_lease_ids(lease.Binary());
  rpc::CallOptions call;
  call.timeout_ms = kAnswerTimeoutMs;  // not retried: the next check asks again
  client->Call(&rpc::CoreWorkerService::Stub::async::CheckLeases, request, call,
               [done = std::move(done)](absl::StatusOr<rpc::CheckLeasesReply> reply) {
                 if (!reply.ok()) return done(reply.status());
                 std::vector<LeaseId> not_held;
                 for (const std::string& binary : reply->not_held()) {
                   if (auto id = LeaseId::FromBinary(binary); id.ok()) not_held.push_back(*id);
                 }
                 done(std::move(not_held));
               });
}

}  // namespace orrery::raylet
