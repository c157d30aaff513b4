// The /metrics endpoint over real loopback HTTP: what a scraper gets, what anything else gets,
// a taken port, and a connection used for several scrapes; over HTTPS, what a scraper holding
// only the cluster CA gets, and what one trusting another CA or speaking plain HTTP gets.
#include "src/metrics/metrics_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/net.h"
#include "src/http/http_client.h"
#include "src/rpc/tls_files.h"
#include "tests/unit/rpc/test_certificates.h"

namespace orrery::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Sends `request` on a new connection and reads until the server closes it.
std::string Exchange(int port, const std::string& request) {
  auto sock = ConnectTcp("127.0.0.1", port, 5000);
  EXPECT_TRUE(sock.ok()) << sock.status();
  if (!sock.ok()) return "";
  EXPECT_EQ(send(*sock, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = recv(*sock, buffer, sizeof(buffer), 0)) > 0;) reply.append(buffer, n);
  close(*sock);
  return reply;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = MetricsServer::Start("127.0.0.1", 0, nullptr, [this] {
      ++renders_;
      return std::string("# HELP orrery_up Up\n# TYPE orrery_up gauge\norrery_up 1\n");
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::atomic<int> renders_{0};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, GetMetricsAnswersTheExpositionAsPrometheusAsksForIt) {
  std::string reply = Exchange(server_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(reply, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\n\r\n# HELP orrery_up Up\n# TYPE orrery_up gauge\norrery_up 1\n"));
  EXPECT_EQ(renders_.load(), 1);
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAreRefusedWithoutRendering) {
  EXPECT_THAT(Exchange(server_->port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 404 Not Found\r\n"));
  std::string post = Exchange(server_->port(),
                              "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsServerTest, AKeptAliveConnectionServesOneScrapeAfterAnother) {
  std::string two = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string reply = Exchange(server_->port(), two);
  size_t first = reply.find("HTTP/1.1 200 OK");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(reply.find("HTTP/1.1 200 OK", first + 1), std::string::npos) << reply;
  EXPECT_EQ(renders_.load(), 2);
}

TEST_F(MetricsServerTest, AMalformedRequestClosesTheConnectionAndServingGoesOn) {
  EXPECT_EQ(Exchange(server_->port(), "NOT HTTP AT ALL\r\n\r\n").find("200"), std::string::npos);
  EXPECT_THAT(Exchange(server_->port(), "GET /metrics HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.0 200 OK\r\n"));
}

TEST_F(MetricsServerTest, ATakenPortFailsTheStartNamingIt) {
  auto second = MetricsServer::Start("127.0.0.1", server_->port(), nullptr, [] { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("port " + std::to_string(server_->port()) + " is already in use"));
  EXPECT_THAT(second.status().message(), HasSubstr("metrics"));
}

// ---- HTTPS ----

// GET /metrics over HTTPS, trusting only `ca_pem` and expecting the cluster's server name, as
// a Prometheus scrape job with tls_config {ca_file, server_name} makes it.
absl::StatusOr<http::GetReply> HttpsGet(int port, const std::string& ca_pem) {
  return http::Get("127.0.0.1:" + std::to_string(port), "/metrics", http::GetOptions{ca_pem, rpc::kClusterServerName});
}

class HttpsMetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = rpc::CreateClusterCa();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    dir_ = ::testing::TempDir() + "/https-metrics-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    ASSERT_TRUE(rpc::WriteTlsFiles(dir_, rpc::TlsMaterial{rpc::testing::NodeTls(ca_, "node-a"), ""}).ok());
    auto read = rpc::ReadTlsFiles(dir_);
    ASSERT_TRUE(read.ok()) << read.status();
    auto server = MetricsServer::Start("127.0.0.1", 0, std::make_shared<const rpc::TlsConfig>(read->config),
                                       [] { return std::string("orrery_up 1\n"); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  rpc::CertificateAuthority ca_;
  std::string dir_;
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(HttpsMetricsServerTest, AScraperHoldingOnlyTheClusterCaReadsTheExposition) {
  auto reply = HttpsGet(server_->port(), ca_.cert_pem);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "orrery_up 1\n");
}

TEST_F(HttpsMetricsServerTest, AScraperTrustingAnotherCaRefusesTheServer) {
  auto other = rpc::CreateClusterCa();
  ASSERT_TRUE(other.ok());
  auto reply = HttpsGet(server_->port(), other->cert_pem);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnauthenticated) << reply.status();
  EXPECT_THAT(reply.status().message(), HasSubstr("certificate verify failed"));
}

TEST_F(HttpsMetricsServerTest, APlainRequestGetsNoExposition) {
  std::string reply = Exchange(server_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.find("orrery_up"), std::string::npos) << reply;
  // And the server goes on serving HTTPS.
  auto after = HttpsGet(server_->port(), ca_.cert_pem);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, "orrery_up 1\n");
}

TEST_F(HttpsMetricsServerTest, ARenewedCertificateIsPresentedFromTheNextConnection) {
  auto before = HttpsGet(server_->port(), ca_.cert_pem);
  ASSERT_TRUE(before.ok()) << before.status();
  rpc::TlsConfig renewed = rpc::testing::NodeTls(ca_, "node-a");
  ASSERT_TRUE(rpc::WriteTlsFiles(dir_, rpc::TlsMaterial{renewed, ""}).ok());
  auto after = HttpsGet(server_->port(), ca_.cert_pem);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, "orrery_up 1\n");
  EXPECT_EQ(after->server_certificate_pem, renewed.cert_pem);
  EXPECT_NE(after->server_certificate_pem, before->server_certificate_pem);
}

}  // namespace
}  // namespace orrery::metrics
