// Test identities: a certificate of a cluster CA for a node name, with its key, as a process
// holds them (made with the real certificate code, tls_certificates.h).
#pragma once

#include <string>

#include "gtest/gtest.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_config.h"

namespace orrery::rpc::testing {

inline TlsConfig NodeTls(const CertificateAuthority& ca, const std::string& node_name) {
  auto csr = MakeKeyAndCsr(node_name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  auto cert = IssueCertificate(ca, csr->csr_pem, node_name, 24 * 3600);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return TlsConfig{ca.cert_pem, cert.value_or(""), csr.ok() ? csr->key_pem : ""};
}

}  // namespace orrery::rpc::testing
