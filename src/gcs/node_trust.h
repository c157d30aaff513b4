// Comparing what a node trusts (rpc::NodeTrust) with what a CA rotation asks of it.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "orrery/gcs.pb.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {

// What a node's TLS files trust, as its reports carry it.
inline rpc::NodeTrust ToNodeTrust(const rpc::TrustState& state) {
  rpc::NodeTrust trust;
  for (const std::string& ca : state.trusted_cas) trust.add_trusted_cas(ca);
  trust.set_issuer(state.issuer);
  return trust;
}

// The same CAs, in any order, and the same issuer.
inline bool SameTrust(const rpc::NodeTrust& a, const rpc::NodeTrust& b) {
  std::vector<std::string> left(a.trusted_cas().begin(), a.trusted_cas().end());
  std::vector<std::string> right(b.trusted_cas().begin(), b.trusted_cas().end());
  std::sort(left.begin(), left.end());
  std::sort(right.begin(), right.end());
  return a.issuer() == b.issuer() && left == right;
}

}  // namespace orrery::gcs
