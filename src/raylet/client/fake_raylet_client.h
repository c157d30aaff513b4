// FakeRayletClient: records calls and lets a test answer each one when it chooses.
#pragma once

#include <deque>
#include <utility>

#include "src/raylet/client/raylet_client.h"

namespace orrery::raylet {

class FakeRayletClient final : public RayletClient {
 public:
  template <typename Req, typename Reply>
  struct Pending {
    Req request;
    Callback<Reply> callback;
  };

  void RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                          Callback<rpc::RequestWorkerLeaseReply> callback) override {
    leases.push_back({request, std::move(callback)});
  }
  void CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                         Callback<rpc::CancelWorkerLeaseReply> callback) override {
    cancels.push_back({request, std::move(callback)});
  }
  void ReturnWorker(const rpc::ReturnWorkerRequest& request, Callback<rpc::ReturnWorkerReply> callback) override {
    returns.push_back({request, std::move(callback)});
  }
  void ReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                             Callback<rpc::ReleaseLeasesOfHolderReply> callback) override {
    releases.push_back({request, std::move(callback)});
  }
  void RegisterWorker(const rpc::RegisterWorkerRequest& request, Callback<rpc::RegisterWorkerReply> callback) override {
    registrations.push_back({request, std::move(callback)});
  }
  void NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                           Callback<rpc::NotifyWorkerBlockedReply> callback) override {
    blocked.push_back({request, std::move(callback)});
  }
  void HealthCheck(int64_t timeout_ms, Callback<rpc::HealthCheckReply> callback) override {
    health_checks.push_back({timeout_ms, std::move(callback)});
  }
  void GetNodeStats(Callback<rpc::GetNodeStatsReply> callback) override { stats.push_back(std::move(callback)); }

  std::deque<Pending<rpc::RequestWorkerLeaseRequest, rpc::RequestWorkerLeaseReply>> leases;
  std::deque<Pending<rpc::CancelWorkerLeaseRequest, rpc::CancelWorkerLeaseReply>> cancels;
  std::deque<Pending<rpc::ReturnWorkerRequest, rpc::ReturnWorkerReply>> returns;
  std::deque<Pending<rpc::ReleaseLeasesOfHolderRequest, rpc::ReleaseLeasesOfHolderReply>> releases;
  std::deque<Pending<rpc::RegisterWorkerRequest, rpc::RegisterWorkerReply>> registrations;
  std::deque<Pending<rpc::NotifyWorkerBlockedRequest, rpc::NotifyWorkerBlockedReply>> blocked;
  std::deque<std::pair<int64_t, Callback<rpc::HealthCheckReply>>> health_checks;
  std::deque<Callback<rpc::GetNodeStatsReply>> stats;
};

}  // namespace orrery::raylet
