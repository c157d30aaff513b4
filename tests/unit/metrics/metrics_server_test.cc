// The /metrics endpoint over real loopback HTTP: what a scraper gets, what anything else gets,
// a taken port, and a connection used for several scrapes.
#include "src/metrics/metrics_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/net.h"

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
    auto server = MetricsServer::Start("127.0.0.1", 0, [this] {
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
  auto second = MetricsServer::Start("127.0.0.1", server_->port(), [] { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("port " + std::to_string(server_->port()) + " is already in use"));
  EXPECT_THAT(second.status().message(), HasSubstr("metrics"));
}

}  // namespace
}  // namespace orrery::metrics
