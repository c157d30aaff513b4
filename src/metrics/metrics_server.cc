#include "src/metrics/metrics_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "spdlog/spdlog.h"
#include "src/common/net.h"
#include "src/metrics/exposition.h"

namespace orrery::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr uint64_t kMaxRequestBytes = 8 * 1024;

http::response<http::string_body> Answer(const http::request<http::string_body>& request,
                                         const MetricsServer::Render& render) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "orrery");
  std::string_view target(request.target().data(), request.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain");
    response.body() = "not found: this port serves GET /metrics\n";
  } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.set(http::field::content_type, "text/plain");
    response.body() = "method not allowed: /metrics is read with GET\n";
  } else {
    response.result(http::status::ok);
    response.set(http::field::content_type, kExpositionContentType);
    if (request.method() == http::verb::get) response.body() = render();
  }
  response.prepare_payload();
  return response;
}

}  // namespace

// Outside the anonymous namespace: MetricsServer::Impl holds one.
namespace http_session {

// What sessions share with the server; they hold it, so that a session freed with the
// io_context's pending work, after the server's members, finds it alive.
struct Shared {
  explicit Shared(MetricsServer::Render render_fn) : render(std::move(render_fn)) {}
  const MetricsServer::Render render;
  std::atomic<int> open{0};  // sessions alive
};

// One connection: requests read and answered in turn until the peer closes or goes quiet.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared) : stream_(std::move(socket)), shared_(std::move(shared)) {
    ++shared_->open;
  }
  ~Session() { --shared_->open; }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestBytes);
    parser_->body_limit(kMaxRequestBytes);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

 private:
  void OnRead(beast::error_code error) {
    if (error) return;  // closed, timed out or malformed: the connection goes
    response_ = Answer(parser_->get(), shared_->render);
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code error, size_t) {
      if (error || !self->response_.keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->Read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  const std::shared_ptr<Shared> shared_;
};

}  // namespace http_session

using http_session::Session;
using http_session::Shared;

struct MetricsServer::Impl {
  Impl(TcpListener listener, Render render) : acceptor(io), port(listener.port), shared(std::make_shared<Shared>(std::move(render))) {
    beast::error_code error;
    acceptor.assign(tcp::v4(), listener.fd, error);
    if (error) {
      ::close(listener.fd);
      spdlog::error("metrics server: cannot take its listening socket: {}", error.message());
    }
  }

  void Accept() {
    acceptor.async_accept([this](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!error) {
        if (shared->open.load() >= kMaxConnections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Session>(std::move(socket), shared)->Read();
        }
      }
      Accept();
    });
  }

  asio::io_context io;
  tcp::acceptor acceptor;
  const int port;
  const std::shared_ptr<Shared> shared;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port, Render render) {
  absl::StatusOr<TcpListener> listener = ListenTcp(host, port);
  if (!listener.ok()) {
    return absl::Status(listener.status().code(),
                        absl::StrCat("the metrics port: ", listener.status().message(), " (--metrics_port)"));
  }
  auto impl = std::make_unique<Impl>(*listener, std::move(render));
  if (!impl->acceptor.is_open()) return absl::InternalError("the metrics server could not take its socket");
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsServer::port() const { return impl_->port; }

}  // namespace orrery::metrics
