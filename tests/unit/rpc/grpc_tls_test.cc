// Mutual TLS between GrpcClient channels and GrpcServer ports (rpc_options.h's `tls`), and the
// token checked inside gRPC before the request is read (auth.h's MakeTokenMetadataProcessor).
#include <stdlib.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

#include "src/common/file_util.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using test::kTestToken;
using test::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Async = class NodeManagerService::Stub::async;

constexpr int64_t kDay = 24 * 3600;

// A certificate of `ca` for `node_name`, with its key, as a process would hold them.
TlsConfig NodeTls(const CertificateAuthority& ca, const std::string& node_name) {
  auto csr = MakeKeyAndCsr(node_name);
  EXPECT_OK(csr);
  auto cert = IssueCertificate(ca, csr->csr_pem, node_name, kDay);
  EXPECT_OK(cert);
  return TlsConfig{ca.cert_pem, cert.value_or(""), csr->key_pem};
}

RpcOptions WithTls(TlsConfig tls) {
  RpcOptions rpc;
  rpc.tls = std::make_shared<const TlsConfig>(std::move(tls));
  return rpc;
}

CallOptions Quick() {
  CallOptions options;
  options.timeout_ms = 5'000;
  return options;
}

// One cluster CA with a server and a client certificate, and a second CA for an outsider.
class GrpcTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateClusterCa();
    auto other = CreateClusterCa();
    ASSERT_OK(ca);
    ASSERT_OK(other);
    server_tls_ = new TlsConfig(NodeTls(*ca, "node-server"));
    client_tls_ = new TlsConfig(NodeTls(*ca, "node-client"));
    TlsConfig outsider = NodeTls(*other, "node-outsider");
    outsider.ca_cert_pem = ca->cert_pem;  // it trusts the server; the server must not trust it
    outsider_tls_ = new TlsConfig(outsider);
  }
  static void TearDownTestSuite() {
    delete server_tls_;
    delete client_tls_;
    delete outsider_tls_;
  }

  static ServerOptions TlsServerOptions() {
    ServerOptions options = TestServer::DefaultOptions();
    options.rpc = WithTls(*server_tls_);
    options.token = kTestToken;
    return options;
  }

  static absl::Status HealthCheck(TestServer& server, const std::string& token, RpcOptions rpc) {
    return TestServer::MakeClient(server.address(), token, rpc)
        ->CallSync(&Async::HealthCheck, HealthCheckRequest(), Quick())
        .status();
  }

  static TlsConfig* server_tls_;
  static TlsConfig* client_tls_;
  static TlsConfig* outsider_tls_;
};

TlsConfig* GrpcTlsTest::server_tls_ = nullptr;
TlsConfig* GrpcTlsTest::client_tls_ = nullptr;
TlsConfig* GrpcTlsTest::outsider_tls_ = nullptr;

TEST_F(GrpcTlsTest, AClientWithAClusterCertificateAndTheTokenIsServed) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_)));
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*server_tls_))) << "any certificate of the cluster CA will do";
  EXPECT_EQ(server.service().calls_received.load(), 2);
}

TEST_F(GrpcTlsTest, APlainClientIsUnavailableNamingTheServer) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, kTestToken, RpcOptions()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("test server at " + server.address())));
  EXPECT_EQ(server.service().calls_received.load(), 0);
}

TEST_F(GrpcTlsTest, AClientCertificateOfAnotherCaIsRefused) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, kTestToken, WithTls(*outsider_tls_)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.service().calls_received.load(), 0);
}

TEST_F(GrpcTlsTest, AClientWithoutACertificateIsRefused) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, kTestToken, WithTls(TlsConfig{client_tls_->ca_cert_pem, "", ""})),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.service().calls_received.load(), 0);
}

TEST_F(GrpcTlsTest, AServerOfAnotherCaIsRefusedByTheClient) {
  ServerOptions options = TlsServerOptions();
  TlsConfig impostor = *outsider_tls_;
  impostor.ca_cert_pem = client_tls_->ca_cert_pem;  // it would accept our client
  options.rpc = WithTls(impostor);
  TestServer server(options);
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, kTestToken, WithTls(*client_tls_)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.service().calls_received.load(), 0) << "the token was never sent to it";
}

TEST_F(GrpcTlsTest, AWrongOrMissingTokenIsRefusedInsideGrpcBeforeTheHandler) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, "wrong-token", WithTls(*client_tls_)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong cluster token")));
  EXPECT_THAT(HealthCheck(server, "", WithTls(*client_tls_)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  EXPECT_EQ(server.service().calls_received.load(), 0) << "gRPC never handed the calls to the service";
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_)));
  EXPECT_EQ(server.service().calls_received.load(), 1);
}

// The server accepts messages of at most 1 KiB. A larger request with a wrong token is refused
// as unauthenticated, not as too large: the token was checked before the message was taken in.
TEST_F(GrpcTlsTest, TheTokenIsCheckedBeforeTheMessageIsRead) {
  ServerOptions options = TlsServerOptions();
  options.rpc.max_message_bytes = 1024;
  TestServer server(options);
  ASSERT_OK(server.Start());
  RegisterWorkerRequest large;
  large.set_worker_id(std::string(64 * 1024, 'x'));
  auto call = [&](const std::string& token) {
    return TestServer::MakeClient(server.address(), token, WithTls(*client_tls_))
        ->CallSync(&Async::RegisterWorker, large, Quick())
        .status();
  };
  EXPECT_THAT(call("wrong-token"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(call(kTestToken), StatusIs(absl::StatusCode::kResourceExhausted)) << "the limit does apply";
  EXPECT_EQ(server.service().calls_received.load(), 0);
}

TEST_F(GrpcTlsTest, WithoutAServerTokenTheHandlersStillCheckIt) {
  ServerOptions options = TlsServerOptions();
  options.token.clear();
  TestServer server(options);
  ASSERT_OK(server.Start());
  EXPECT_THAT(HealthCheck(server, "wrong-token", WithTls(*client_tls_)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong cluster token")));
  EXPECT_EQ(server.service().calls_received.load(), 1) << "refused by ServerCalls this time";
}

TEST_F(GrpcTlsTest, AUnixSocketStaysPlainNextToATlsPort) {
  char tmpl[] = "/tmp/orrery_tls_uds_XXXXXX";  // mkdtemp makes it 0700
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ServerOptions options = TlsServerOptions();
  options.unix_socket_path = dir + "/test.sock";
  {
    TestServer server(options);
    ASSERT_OK(server.Start());
    auto local = TestServer::MakeClient("unix:" + options.unix_socket_path, kTestToken, WithTls(*client_tls_));
    EXPECT_OK(local->CallSync(&Async::HealthCheck, HealthCheckRequest(), Quick()));
    EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_)));
    EXPECT_THAT(HealthCheck(server, kTestToken, RpcOptions()), StatusIs(absl::StatusCode::kUnavailable))
        << "the TCP port is TLS only";
  }
  EXPECT_OK(RemoveAll(dir));
}

TEST_F(GrpcTlsTest, IncompleteTlsOptionsFailStart) {
  ServerOptions options = TlsServerOptions();
  options.rpc = WithTls(TlsConfig{server_tls_->ca_cert_pem, server_tls_->cert_pem, ""});
  GrpcServer server(options);
  EXPECT_THAT(server.Start(), StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("TLS"), HasSubstr("key"))));
}

TEST(IsUnixTargetTest, OnlyUnixSchemes) {
  EXPECT_TRUE(internal::IsUnixTarget("unix:/tmp/x.sock"));
  EXPECT_TRUE(internal::IsUnixTarget("unix-abstract:orrery"));
  EXPECT_FALSE(internal::IsUnixTarget("127.0.0.1:6379"));
  EXPECT_FALSE(internal::IsUnixTarget("unixhost:80"));
}

}  // namespace
}  // namespace orrery::rpc
