#include "src/http/http_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/thread_pool.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "spdlog/spdlog.h"
#include "src/common/net.h"
#include "src/rpc/tls_files.h"

namespace orrery::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIoTimeout = std::chrono::seconds(10);

// The server side of HTTPS for an identity: its certificate chain and key, TLS 1.2 and later,
// no client certificate asked for.
absl::StatusOr<std::shared_ptr<ssl::context>> MakeServerContext(const rpc::TlsConfig& tls) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code error;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       error);
  std::string chain = rpc::CertificateChainPem(tls);
  if (!error) context->use_certificate_chain(asio::buffer(chain), error);
  if (!error) context->use_private_key(asio::buffer(tls.key_pem), ssl::context::pem, error);
  if (error) return absl::InvalidArgumentError("the TLS identity for HTTPS does not load: " + error.message());
  context->set_verify_mode(ssl::verify_none);
  return context;
}

}  // namespace

Response TextResponse(const Request& request, unsigned status, std::string body) {
  Response response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.result(status);
  response.set(bhttp::field::server, "orrery");
  response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// Outside the anonymous namespace: HttpServer::Impl holds one.
namespace http_session {

// What sessions share with the server; they hold it, so that a session freed with the
// io_context's pending work, after the server's members, finds it alive.
struct Shared {
  Shared(Handler handler_fn, size_t max_bytes, asio::thread_pool* handler_pool)
      : handler(std::move(handler_fn)), max_request_bytes(max_bytes), pool(handler_pool) {}
  const Handler handler;
  const size_t max_request_bytes;
  // Null: handlers run on the I/O thread. Owned by the server, which stops it before its
  // io_context (so no session outlives it while running on it).
  asio::thread_pool* const pool;
  std::atomic<int> open{0};  // sessions alive
};

// One connection: requests read and answered in turn until the peer closes or goes quiet.
// Stream is beast::tcp_stream, or beast::ssl_stream of one.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... StreamArgs>
  Session(std::shared_ptr<Shared> shared, std::shared_ptr<ssl::context> context, StreamArgs&&... args)
      : context_(std::move(context)), stream_(std::forward<StreamArgs>(args)...), shared_(std::move(shared)) {
    ++shared_->open;
    beast::error_code error;
    const tcp::endpoint peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(error);
    if (!error) context_info_.peer = peer.address().to_string();
    context_info_.https = kTls;
  }
  ~Session() { --shared_->open; }

  void Start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code error) {
        if (!error) self->Read();
      });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->max_request_bytes));
    parser_->body_limit(shared_->max_request_bytes);
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error) return;  // closed, timed out or malformed: the connection goes
    if (shared_->pool == nullptr) {
      response_ = shared_->handler(parser_->get(), context_info_);
      Write();
      return;
    }
    asio::post(*shared_->pool, [self = this->shared_from_this()] {
      self->response_ = self->shared_->handler(self->parser_->get(), self->context_info_);
      asio::post(self->stream_.get_executor(), [self] { self->Write(); });
    });
  }

  void Write() {
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    bhttp::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code error, size_t) {
      if (error || !self->response_.keep_alive()) {
        self->Close();
        return;
      }
      self->Read();
    });
  }

  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Declared before the stream, so that it is destroyed after it: null for plain HTTP.
  const std::shared_ptr<ssl::context> context_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response response_;
  RequestContext context_info_;
  const std::shared_ptr<Shared> shared_;
};

}  // namespace http_session

using http_session::Session;
using http_session::Shared;

struct HttpServer::Impl {
  Impl(TcpListener listener, const ServerOptions& options, Handler handler)
      : acceptor(io),
        port(listener.port),
        max_connections(options.max_connections),
        tls(options.tls),
        pool(options.handler_threads > 0 ? std::make_unique<asio::thread_pool>(options.handler_threads) : nullptr),
        shared(std::make_shared<Shared>(std::move(handler), options.max_request_bytes, pool.get())) {
    beast::error_code error;
    acceptor.assign(tcp::v4(), listener.fd, error);
    if (error) {
      ::close(listener.fd);
      spdlog::error("HTTP server: cannot take its listening socket: {}", error.message());
    }
  }

  // The HTTPS context of the identity as it is now: made again when a renewal replaced it.
  absl::StatusOr<std::shared_ptr<ssl::context>> Context() {
    std::shared_ptr<const rpc::TlsConfig> now = rpc::ReloadedTls(tls);
    absl::MutexLock lock(&mu);
    if (now != made_from) {
      auto made = MakeServerContext(*now);
      if (!made.ok()) return made.status();
      context = std::move(*made);
      made_from = std::move(now);
    }
    return context;
  }

  void Accept() {
    acceptor.async_accept([this](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!error) Serve(std::move(socket));
      Accept();
    });
  }

  void Serve(tcp::socket socket) {
    if (shared->open.load() >= max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    if (tls == nullptr) {
      std::make_shared<Session<beast::tcp_stream>>(shared, nullptr, std::move(socket))->Start();
      return;
    }
    auto context = Context();
    if (!context.ok()) {
      spdlog::error("HTTPS connection refused: {}", std::string(context.status().message()));
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(shared, *context, std::move(socket), **context)
        ->Start();
  }

  asio::io_context io;
  tcp::acceptor acceptor;
  const int port;
  const int max_connections;
  const std::shared_ptr<const rpc::TlsConfig> tls;
  const std::unique_ptr<asio::thread_pool> pool;
  const std::shared_ptr<Shared> shared;
  absl::Mutex mu;
  std::shared_ptr<const rpc::TlsConfig> made_from ABSL_GUARDED_BY(mu);
  std::shared_ptr<ssl::context> context ABSL_GUARDED_BY(mu);
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  absl::StatusOr<TcpListener> listener = ListenTcp(options.host, options.port);
  if (!listener.ok()) {
    return absl::Status(listener.status().code(),
                        absl::StrCat(listener.status().message(), " (", options.port_flag, ")"));
  }
  auto impl = std::make_unique<Impl>(*listener, options, std::move(handler));
  if (!impl->acceptor.is_open()) return absl::InternalError("the HTTP server could not take its socket");
  // A TLS identity that does not load fails the start, not each connection.
  if (impl->tls != nullptr) {
    if (auto context = impl->Context(); !context.ok()) return context.status();
  }
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Handlers not yet begun are dropped; one running is waited for.
  if (impl_->pool) {
    impl_->pool->stop();
    impl_->pool->join();
  }
}

int HttpServer::port() const { return impl_->port; }
bool HttpServer::https() const { return impl_->tls != nullptr; }

}  // namespace orrery::http
