#include "src/http/http_client.h"

#include <cctype>
#include <chrono>

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "openssl/pem.h"
#include "openssl/ssl.h"

namespace orrery::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

std::string PemOf(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, certificate);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, size);
  BIO_free(bio);
  return pem;
}

template <typename Stream>
GetReply Exchange(Stream& stream, const std::string& target, const HttpCall& call) {
  bhttp::request<bhttp::string_body> request(bhttp::string_to_verb(call.method), call.path, 11);
  request.set(bhttp::field::host, target);
  request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : call.headers) request.set(name, value);
  request.body() = call.body;
  request.prepare_payload();
  bhttp::write(stream, request);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(stream, buffer, response);
  GetReply reply{static_cast<int>(response.result_int()), std::move(response.body()), "", {}};
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers.emplace(std::move(name), std::string(field.value()));
  }
  return reply;
}

absl::Status Failure(const std::string& target, const std::string& method, const boost::system::error_code& error,
                     bool https) {
  std::string what = method + " to " + target + ": " + error.message();
  if (error == beast::error::timeout) return absl::DeadlineExceededError(what);
  if (https && error.category() == asio::error::get_ssl_category()) return absl::UnauthenticatedError(what);
  return absl::UnavailableError(what);
}

}  // namespace

absl::StatusOr<GetReply> Get(const std::string& target, const std::string& path, const GetOptions& options) {
  HttpCall call;
  call.path = path;
  return Fetch(target, call, options);
}

absl::StatusOr<GetReply> Fetch(const std::string& target, const HttpCall& call, const GetOptions& options) {
  const bool https = !options.ca_pem.empty();
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("not HOST:PORT: " + target);
  asio::io_context io;
  try {
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(target.substr(0, colon), target.substr(colon + 1));
    const auto timeout = std::chrono::milliseconds(options.timeout_ms);
    if (!https) {
      beast::tcp_stream stream(io);
      stream.expires_after(timeout);
      stream.connect(endpoints);
      return Exchange(stream, target, call);
    }
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.add_certificate_authority(asio::buffer(options.ca_pem));
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    if (!options.server_name.empty()) {
      stream.set_verify_callback(asio::ssl::host_name_verification(options.server_name));
    }
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(asio::ssl::stream_base::client);
    std::string certificate;
    if (X509* presented = SSL_get_peer_certificate(stream.native_handle()); presented != nullptr) {
      certificate = PemOf(presented);
      X509_free(presented);
    }
    GetReply reply = Exchange(stream, target, call);
    reply.server_certificate_pem = std::move(certificate);
    return reply;
  } catch (const boost::system::system_error& e) {
    return Failure(target, call.method, e.code(), https);
  }
}

}  // namespace orrery::http
