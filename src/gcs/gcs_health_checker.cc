#include "src/gcs/gcs_health_checker.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"

namespace orrery::gcs {

GcsHealthChecker::GcsHealthChecker(boost::asio::io_context& io, Options options, ClientFactory factory,
                                   DeathCallback on_death)
    : io_(io), options_(options), factory_(std::move(factory)), on_death_(std::move(on_death)) {}

GcsHealthChecker::~GcsHealthChecker() { Stop(); }

void GcsHealthChecker::AddNode(const NodeId& node_id, const std::string& address) {
  if (stopped_ || nodes_.contains(node_id)) return;
  Watched& watched = nodes_[node_id];
  watched.client = factory_(address);
  watched.timer = std::make_unique<boost::asio::steady_timer>(io_);
  watched.generation = next_generation_++;
  Schedule(node_id);
}

void GcsHealthChecker::RemoveNode(const NodeId& node_id) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  it->second.timer->cancel();
  nodes_.erase(it);
}

void GcsHealthChecker::Stop() {
  stopped_ = true;
  for (auto& [id, watched] : nodes_) watched.timer->cancel();
  nodes_.clear();
}

void GcsHealthChecker::Schedule(const NodeId& node_id) {
  Watched& watched = nodes_.at(node_id);
  uint64_t generation = watched.generation;
  watched.timer->expires_after(std::chrono::milliseconds(options_.period_ms));
  watched.timer->async_wait([this, node_id, generation](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second.generation != generation) return;
    Check(node_id);
  });
}

void GcsHealthChecker::Check(const NodeId& node_id) {
  Watched& watched = nodes_.at(node_id);
  uint64_t generation = watched.generation;
  if (watched.in_flight) {
    // The previous check has not answered yet; its deadline counts as the miss.
    Schedule(node_id);
    return;
  }
  watched.in_flight = true;
  int64_t timeout = options_.timeout_ms > 0 ? options_.timeout_ms : options_.period_ms;
  watched.client->HealthCheck(timeout, [this, node_id, generation](absl::StatusOr<rpc::HealthCheckReply> reply) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end() || it->second.generation != generation) return;
    Watched& w = it->second;
    w.in_flight = false;
    if (reply.ok()) {
      w.misses = 0;
    } else if (++w.misses >= options_.failure_threshold) {
      std::string reason = absl::StrCat("missed ", w.misses, " health checks in a row (last: ",
                                        reply.status().message(), ")");
      RemoveNode(node_id);
      on_death_(node_id, reason);
      return;
    } else {
      spdlog::debug("node {} missed health check {}: {}", node_id.ShortHex(), w.misses, reply.status().message());
    }
  });
  Schedule(node_id);
}

}  // namespace orrery::gcs
