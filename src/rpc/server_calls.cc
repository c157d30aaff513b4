#include "src/rpc/server_calls.h"

#include <vector>

#include "src/rpc/rpc_options.h"

namespace orrery::rpc {

ServerCalls::ServerCalls(std::string service_name, std::string token, Dispatcher dispatcher)
    : service_name_(std::move(service_name)),
      auth_(service_name_, std::move(token)),
      dispatcher_(std::move(dispatcher)) {}

bool ServerCalls::Track(const std::shared_ptr<CallBase>& call) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      open_[call.get()] = call;
      return true;
    }
  }
  call->Finish(absl::UnavailableError(service_name_ + " is shutting down"));
  return false;
}

void ServerCalls::Untrack(const CallBase* call) {
  absl::MutexLock lock(&mu_);
  open_.erase(call);
}

size_t ServerCalls::open_calls() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

void ServerCalls::Stop() {
  std::vector<std::shared_ptr<CallBase>> open;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    for (auto& [ptr, call] : open_) open.push_back(call);
    open_.clear();
  }
  for (auto& call : open) call->Finish(absl::UnavailableError(service_name_ + " is shutting down"));
}

std::string ServerCalls::RequestId(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kRequestIdMetadataKey);
  if (it == metadata.end()) return {};
  return std::string(it->second.data(), it->second.size());
}

}  // namespace orrery::rpc
