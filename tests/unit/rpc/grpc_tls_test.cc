// Mutual TLS between GrpcClient channels and GrpcServer ports (rpc_options.h's `tls`), and the
// token checked inside gRPC before the request is read (auth.h's MakeTokenMetadataProcessor).
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/rpc/test_certificates.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

#include "absl/strings/str_cat.h"
#include "src/common/file_util.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/rpc/auth.h"
#include "src/rpc/certificate_renewer.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/refused_names_file.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_socket.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using test::kTestToken;
using test::TestServer;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Async = class NodeManagerService::Stub::async;


using testing::NodeTls;

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
    ca_ = new CertificateAuthority(*ca);
  }
  static void TearDownTestSuite() {
    delete server_tls_;
    delete client_tls_;
    delete outsider_tls_;
    delete ca_;
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
  static CertificateAuthority* ca_;
};

TlsConfig* GrpcTlsTest::server_tls_ = nullptr;
TlsConfig* GrpcTlsTest::client_tls_ = nullptr;
TlsConfig* GrpcTlsTest::outsider_tls_ = nullptr;
CertificateAuthority* GrpcTlsTest::ca_ = nullptr;

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

// The GCS's join method (docs/security.md, "Joining"): a node without a certificate may call the
// server's join methods with the token, and nothing else, before gRPC reads the message.
TEST_F(GrpcTlsTest, APortThatServesJoinsServesAPeerWithoutACertificateItsJoinMethodsOnly) {
  ServerOptions options = TlsServerOptions();
  options.join_methods = {absl::StrCat("/", NodeManagerService::service_full_name(), "/HealthCheck")};
  TestServer server(options);
  ASSERT_OK(server.Start());
  RpcOptions joining = WithTls(TlsConfig{client_tls_->ca_cert_pem, "", ""});
  EXPECT_OK(HealthCheck(server, kTestToken, joining));
  EXPECT_THAT(HealthCheck(server, "wrong-token", joining), StatusIs(absl::StatusCode::kUnauthenticated));
  auto register_worker = [&](RpcOptions rpc) {
    return TestServer::MakeClient(server.address(), kTestToken, rpc)
        ->CallSync(&Async::RegisterWorker, RegisterWorkerRequest(), Quick())
        .status();
  };
  EXPECT_THAT(register_worker(joining),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("RegisterWorker"), HasSubstr("only to a peer with a certificate"))));
  EXPECT_EQ(server.service().calls_received.load(), 1) << "only the join method reached the service";
  (void)register_worker(WithTls(*client_tls_));
  EXPECT_EQ(server.service().calls_received.load(), 2) << "a peer with a certificate may call the rest";
  EXPECT_THAT(HealthCheck(server, kTestToken, WithTls(*outsider_tls_)), StatusIs(absl::StatusCode::kUnavailable))
      << "a certificate of another CA is still refused in the handshake";
}

TEST_F(GrpcTlsTest, TheCertificateOfANodeDeclaredDeadIsRefused) {
  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  // A name of its own: the refusals are the process's, shared by every test in it.
  RpcOptions client = WithTls(NodeTls(*ca_, "node-declared-dead"));
  EXPECT_OK(HealthCheck(server, kTestToken, client));
  RefuseCertificatesNamed("node-declared-dead");
  EXPECT_THAT(HealthCheck(server, kTestToken, client),
              StatusIs(absl::StatusCode::kUnauthenticated, AllOf(HasSubstr("certificate of node node-declared-dead"),
                                                                 HasSubstr("declared that node dead"))));
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*server_tls_))) << "other nodes are still served";
  EXPECT_EQ(server.service().calls_received.load(), 2);
}

// How a joining node learns whom to trust (cluster_tls.h's FetchClusterCa): the CA the GCS
// presents in its handshake, taken only with the fingerprint the user was given.
TEST_F(GrpcTlsTest, AJoiningNodeTakesTheCaFromTheHandshakeOnlyWithItsFingerprint) {
  ServerOptions options = TlsServerOptions();
  options.join_methods = {"/orrery.rpc.GcsService/SignNodeCertificate"};
  TestServer server(options);
  ASSERT_OK(server.Start());
  auto fingerprint = CaFingerprint(ca_->cert_pem);
  ASSERT_OK(fingerprint);
  auto fetched = FetchClusterCa(server.address(), *fingerprint, 5000);
  ASSERT_OK(fetched);
  EXPECT_EQ(CaFingerprint(*fetched).value_or(""), *fingerprint);

  auto other = CreateClusterCa();
  ASSERT_OK(other);
  std::string other_fingerprint = CaFingerprint(other->cert_pem).value_or("");
  EXPECT_THAT(FetchClusterCa(server.address(), other_fingerprint, 5000),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("presented no CA certificate with the hash " + other_fingerprint),
                             HasSubstr("it presented " + *fingerprint), HasSubstr("intercepted"))));
  EXPECT_THAT(FetchClusterCa(server.address(), "sha256:abc", 5000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 3 hex digits")));
  EXPECT_EQ(server.service().calls_received.load(), 0) << "fetching the CA calls nothing";
}

TEST_F(GrpcTlsTest, FetchingTheCaFromAPlainPortSaysItSpeaksPlainTcp) {
  std::string fingerprint = CaFingerprint(ca_->cert_pem).value_or("");
  TestServer plain;
  ASSERT_OK(plain.Start());
  EXPECT_THAT(FetchClusterCa(plain.address(), fingerprint, 5000),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("speaks plain TCP")));
}

// A daemon's refusals reach the processes that use its TLS directory (refused_names_file.h): it
// writes them there, merged with what the file lists, and a process following the file refuses
// them too (it reads the file as calls arrive: at once after it starts following).
TEST_F(GrpcTlsTest, ADaemonSharesItsRefusalsThroughTheTlsDirectoryWithTheProcessesUsingIt) {
  char tmpl[] = "/tmp/orrery_tls_refused_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/refused_nodes";
  ASSERT_OK(WriteFileAtomic(path, "node-dead-elsewhere\n", 0644));
  PublishRefusedNamesTo(path);
  RefuseCertificatesNamed("node-dead-here");
  auto listed = ReadFileToString(path);
  ASSERT_OK(listed);
  // Every name the process refuses (other tests' too, when they share the process), one a line.
  EXPECT_THAT(*listed, AllOf(HasSubstr("node-dead-elsewhere\n"), HasSubstr("node-dead-here\n")));
  PublishRefusedNamesTo("");

  TestServer server(TlsServerOptions());
  ASSERT_OK(server.Start());
  RpcOptions client = WithTls(NodeTls(*ca_, "node-dead-elsewhere"));
  EXPECT_OK(HealthCheck(server, kTestToken, client)) << "not followed yet";
  FollowRefusedNames(path);
  EXPECT_THAT(HealthCheck(server, kTestToken, client),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("certificate of node node-dead-elsewhere")));
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_))) << "others are served";
  FollowRefusedNames("");
  EXPECT_OK(HealthCheck(server, kTestToken, client)) << "no longer followed";
  EXPECT_OK(RemoveAll(tmpl));
}

// The serial of the certificate the TLS port at `address` presents to a new connection.
std::string PresentedSerial(const std::string& address, const TlsConfig& client) {
  auto target = ParseHostPort(address);
  auto context = TlsContext::Create(client, TlsContext::Side::kClient);
  if (!target.ok() || !context.ok()) return "";
  auto fd = ConnectTcp(target->host, target->port, 5'000);
  if (!fd.ok()) return "";
  std::string serial;
  {
    auto socket = TlsSocket::Connect(*fd, **context, "the test server", 5'000);
    if (socket.ok()) {
      auto info = ReadCertificateInfo((*socket)->PeerCertificateChain().at(0));
      if (info.ok()) serial = info->serial_hex;
    }
  }
  close(*fd);
  return serial;
}

// A port whose identity lives in a TLS directory, as every daemon's does: a CertificateRenewer
// renews it there at two thirds of its life (trying again after a failure), the port presents
// the renewed certificate from the next handshake on, and new clients are served past the
// first certificate's expiry.
TEST_F(GrpcTlsTest, ARenewalWrittenIntoTheDirectoryIsServedToNewConnectionsPastTheOldExpiry) {
  char tmpl[] = "/tmp/orrery_tls_renew_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/tls";
  auto key = MakeKeyAndCsr("node-server");
  ASSERT_OK(key);
  // 15 s: due in 10, a retry a second later, watched within kTlsWatchSeconds, well before 15.
  auto short_lived = IssueCertificate(*ca_, key->csr_pem, "node-server", 15);
  ASSERT_OK(short_lived);
  ASSERT_OK(WriteTlsFiles(dir, TlsMaterial{TlsConfig{ca_->cert_pem, *short_lived, key->key_pem}, ""}));
  auto first = ReadCertificateInfo(*short_lived);
  ASSERT_OK(first);
  auto read = ReadTlsFiles(dir);
  ASSERT_OK(read);
  ServerOptions options = TlsServerOptions();
  options.rpc = WithTls(read->config);
  TestServer server(options);
  ASSERT_OK(server.Start());
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_)));
  EXPECT_EQ(PresentedSerial(server.address(), *client_tls_), first->serial_hex);

  std::atomic<int> attempts{0};
  std::string renewed_serial;
  CertificateRenewer renewer(dir, "the test server",
                             [&](const TlsConfig& current, const CertificateInfo&) -> absl::StatusOr<TlsConfig> {
    EXPECT_EQ(current.cert_pem, *short_lived);
    if (attempts++ == 0) return absl::UnavailableError("the GCS is restarting");
    ORRERY_ASSIGN_OR_RETURN(KeyAndCsr next, MakeKeyAndCsr("node-server"));
    ORRERY_ASSIGN_OR_RETURN(std::string cert, IssueCertificate(*ca_, next.csr_pem, "node-server", 600));
    renewed_serial = ReadCertificateInfo(cert)->serial_hex;
    return TlsConfig{ca_->cert_pem, cert, next.key_pem};
  });
  ASSERT_TRUE(renewer.AwaitRenewals(1, absl::Seconds(30)));
  EXPECT_GE(std::time(nullptr), RenewAt(*first));
  EXPECT_EQ(attempts.load(), 2) << "one failure, tried again";

  // Past the first certificate's expiry (the clock is what is waited for), a new client is
  // served, and was shown the renewed certificate.
  while (std::time(nullptr) <= first->not_after) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_OK(HealthCheck(server, kTestToken, WithTls(*client_tls_)));
  EXPECT_EQ(PresentedSerial(server.address(), *client_tls_), renewed_serial);
  EXPECT_EQ(renewer.renewals(), 1) << "the renewed certificate is not due for a while";
  EXPECT_OK(RemoveAll(tmpl));
}

TEST(IsUnixTargetTest, OnlyUnixSchemes) {
  EXPECT_TRUE(internal::IsUnixTarget("unix:/tmp/x.sock"));
  EXPECT_TRUE(internal::IsUnixTarget("unix-abstract:orrery"));
  EXPECT_FALSE(internal::IsUnixTarget("127.0.0.1:6379"));
  EXPECT_FALSE(internal::IsUnixTarget("unixhost:80"));
}

}  // namespace
}  // namespace orrery::rpc
