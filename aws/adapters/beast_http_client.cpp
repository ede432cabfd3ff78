// The only file of the aws module that includes Boost.Asio / Beast.
#include "cloudtwin/aws/adapters/beast_http_client.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (see metadata-server/adapters/server.cpp): Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <variant>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// OpenSSL's SSL_set_tlsext_host_name is a macro with a C cast.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
bool set_sni(SSL* ssl, const std::string& host) {
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}
#pragma GCC diagnostic pop

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class BeastHttpClient : public HttpClient {
 public:
  explicit BeastHttpClient(BeastHttpOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    if (!options_.ca_file.empty()) {
      beast::error_code ec;
      tls_.load_verify_file(options_.ca_file, ec);
      if (ec) {
        throw Error(ErrorCode::Io,
                    "cannot load the CA file " + options_.ca_file + ": " + ec.message());
      }
    }
    tls_.set_verify_mode(options_.verify_tls ? ssl::verify_peer : ssl::verify_none);
  }

  HttpResponse send(const Url& endpoint, const HttpRequest& request) override {
    beast::error_code ec;
    if (connected_to_ != endpoint.to_string()) close();
    if (has_stream()) {
      // A kept-alive connection the server may have closed since: one fresh try.
      if (auto r = exchange(endpoint, request, ec)) return *r;
      close();
    }
    connect(endpoint);
    if (auto r = exchange(endpoint, request, ec)) return *r;
    close();
    throw Error(ErrorCode::Io, request.method + " " + endpoint.to_string() + ": " + ec.message());
  }

 private:
  bool has_stream() const { return !std::holds_alternative<std::monostate>(stream_); }

  void close() {
    stream_ = std::monostate{};
    connected_to_.clear();
    buffer_.clear();
  }

  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  [[noreturn]] void fail(const Url& endpoint, const std::string& step,
                         const beast::error_code& ec) {
    close();
    throw Error(ErrorCode::Io, endpoint.to_string() + ": " + step + ": " + ec.message());
  }

  void connect(const Url& endpoint) {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    // Numeric addresses need no lookup; names go through the system resolver.
    const auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                          tcp::resolver::numeric_service, ec);
    if (ec) fail(endpoint, "cannot resolve " + endpoint.host, ec);
    beast::tcp_stream tcp_stream(ioc_);
    tcp_stream.expires_after(options_.timeout);
    ec = run([&](auto h) { tcp_stream.async_connect(results, std::move(h)); });
    if (ec) fail(endpoint, "cannot connect", ec);
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if (!endpoint.tls()) {
      stream_.emplace<PlainStream>(std::move(tcp_stream));
    } else {
      auto& tls = stream_.emplace<TlsStream>(std::move(tcp_stream), tls_);
      if (!set_sni(tls.native_handle(), endpoint.host)) {
        fail(endpoint, "TLS SNI",
             beast::error_code(static_cast<int>(::ERR_get_error()),
                               asio::error::get_ssl_category()));
      }
      if (options_.verify_tls) tls.set_verify_callback(ssl::host_name_verification(endpoint.host));
      beast::get_lowest_layer(tls).expires_after(options_.timeout);
      ec = run([&](auto h) { tls.async_handshake(ssl::stream_base::client, std::move(h)); });
      if (ec) fail(endpoint, "TLS handshake (the certificate is verified)", ec);
    }
    connected_to_ = endpoint.to_string();
  }

  std::optional<HttpResponse> exchange(const Url& endpoint, const HttpRequest& request,
                                       beast::error_code& ec) {
    http::request<http::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    req.set(http::field::host, endpoint.host_header());
    req.set(http::field::user_agent, "cloudtwin");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.body() = request.body;
    req.prepare_payload();
    req.keep_alive(true);

    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.body_limit);
    const auto io = [&](auto& stream) {
      beast::get_lowest_layer(stream).expires_after(options_.timeout);
      ec = run([&](auto h) { http::async_write(stream, req, std::move(h)); });
      if (ec) return;
      ec = run([&](auto h) { http::async_read(stream, buffer_, parser, std::move(h)); });
    };
    if (auto* plain = std::get_if<PlainStream>(&stream_)) io(*plain);
    if (auto* tls = std::get_if<TlsStream>(&stream_)) io(*tls);
    if (ec) return std::nullopt;
    auto response = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(response.body());
    if (!response.keep_alive()) close();
    return out;
  }

  BeastHttpOptions options_;
  asio::io_context ioc_;
  ssl::context tls_;
  std::variant<std::monostate, PlainStream, TlsStream> stream_;
  std::string connected_to_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::unique_ptr<HttpClient> make_beast_http_client(BeastHttpOptions options) {
  return std::make_unique<BeastHttpClient>(std::move(options));
}

}  // namespace cloudtwin::aws
