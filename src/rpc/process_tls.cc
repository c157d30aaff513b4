#include "src/rpc/process_tls.h"

#include <atomic>

namespace orrery::rpc {

namespace {
// Swapped whole (a renewal replaces the set at once); read on every channel and server made.
std::atomic<std::shared_ptr<const TlsConfig>>& Current() {
  static std::atomic<std::shared_ptr<const TlsConfig>> current;
  return current;
}
}  // namespace

void SetProcessTls(std::shared_ptr<const TlsConfig> tls) { Current().store(std::move(tls)); }

std::shared_ptr<const TlsConfig> ProcessTls() { return Current().load(); }

std::shared_ptr<const TlsConfig> TlsOr(std::shared_ptr<const TlsConfig> named) {
  return named != nullptr ? named : ProcessTls();
}

}  // namespace orrery::rpc
