#include "src/raylet/lease_holders.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"

namespace orrery::raylet {

namespace {
// The holder answers at once (it only marks its leases); past this it is stuck or gone.
constexpr int64_t kYieldTimeoutMs = 2'000;
}  // namespace

void LeaseHolders::AskToYield(const rpc::WorkerAddress& holder, const std::vector<LeaseId>& leases) {
  auto id = WorkerId::FromBinary(holder.worker_id());
  if (!id.ok() || holder.port() <= 0) return;
  std::unique_ptr<Client>& client = clients_[*id];
  if (client == nullptr) {
    std::string address = absl::StrCat(holder.ip(), ":", holder.port());
    rpc::ClientOptions options = options_;
    options.peer_name = "lease holder at " + address;
    client = std::make_unique<Client>(rpc::MakeChannel(address, options.rpc), std::move(options));
  }
  rpc::YieldIdleLeasesRequest request;
  for (const LeaseId& lease : leases) request.add_lease_ids(lease.Binary());
  rpc::CallOptions call;
  call.timeout_ms = kYieldTimeoutMs;
  client->Call(&rpc::CoreWorkerService::Stub::async::YieldIdleLeases, request, call,
               [](absl::StatusOr<rpc::YieldIdleLeasesReply> reply) {
                 if (!reply.ok()) spdlog::debug("asking for idle leases back: {}", reply.status().message());
               });
}

}  // namespace orrery::raylet
