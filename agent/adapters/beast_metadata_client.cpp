// The only file of the agent that includes Boost.Asio / Beast.
#include "cloudtwin/agent/adapters/beast_metadata_client.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (see metadata-server/tests/server_test.cpp): Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <sstream>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kBodyLimit = 4 * 1024 * 1024;  // user-data is at most 64 KiB encoded

class BeastMetadataClient : public MetadataClient {
 public:
  BeastMetadataClient(std::vector<MetadataEndpoint> endpoints, std::chrono::milliseconds timeout)
      : endpoints_(std::move(endpoints)), timeout_(timeout) {
    if (endpoints_.empty()) throw Error(ErrorCode::InvalidArgument, "no metadata endpoint given");
    // A read takes what has arrived up to the free capacity (512 bytes at least): with
    // room reserved, one read takes a whole pipeline's answers (a crawl's are a few KiB).
    buffer_.reserve(16 * 1024);
  }

  std::string endpoint() const override { return endpoints_[current_].to_string(); }

  MetadataResponse send(const MetadataRequest& request) override {
    beast::error_code ec;
    if (stream_) {
      // A kept-alive connection the server may have closed since: one fresh try.
      if (auto r = exchange(request, ec)) return *r;
      stream_.reset();
    }
    std::string reasons;
    for (std::size_t n = 0; n < endpoints_.size(); ++n) {
      const std::size_t i = (current_ + n) % endpoints_.size();
      if (!connect(endpoints_[i], ec)) {
        reasons += (reasons.empty() ? "" : "; ") + endpoints_[i].to_string() + ": " + ec.message();
        continue;
      }
      current_ = i;
      if (auto r = exchange(request, ec)) return *r;
      stream_.reset();
      throw Error(ErrorCode::Io, "EC2 metadata " + endpoints_[i].to_string() + ": " +
                                     request.method + " " + request.path + ": " + ec.message());
    }
    throw Error(ErrorCode::Io, "cannot reach the EC2 metadata service (" + reasons + ")");
  }

  // HTTP/1.1 pipelining on the kept-alive connection: every request written, then the
  // answers read in order. Whatever is left unanswered (the server closed, an error) is
  // sent again one by one, with send()'s reconnect.
  std::vector<MetadataResponse> send_all(const std::vector<MetadataRequest>& requests) override {
    if (!stream_ || requests.size() < 2) return MetadataClient::send_all(requests);
    std::vector<MetadataResponse> out;
    out.reserve(requests.size());
    beast::error_code ec;
    // All of them in one write: one segment and one wake-up of the service, which then
    // finds every request in its buffer. Written one by one, each write woke the service
    // (which, just woken, preempted us) and the pipeline ran as a ping-pong.
    std::string pipeline;
    for (const auto& r : requests) {
      std::ostringstream text;
      text << make_request(r);
      pipeline += text.str();
    }
    stream_->expires_after(timeout_);
    ec = run([&](auto handler) {
      asio::async_write(*stream_, asio::buffer(pipeline), std::move(handler));
    });
    const std::size_t written = ec ? 0 : requests.size();
    buffer_.clear();
    while (!ec && stream_ && out.size() < written) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      stream_->expires_after(timeout_);
      ec = run(
          [&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); });
      if (ec) break;
      auto response = parser.release();
      const bool keep_alive = response.keep_alive();
      out.push_back({static_cast<int>(response.result_int()), std::move(response.body())});
      if (!keep_alive) stream_.reset();
    }
    if (out.size() < requests.size()) {
      stream_.reset();
      for (std::size_t i = out.size(); i < requests.size(); ++i) out.push_back(send(requests[i]));
    }
    return out;
  }

 private:
  http::request<http::string_body> make_request(const MetadataRequest& request) const {
    const auto& ep = endpoints_[current_];
    http::request<http::string_body> req;
    req.method_string(request.method);
    req.target(request.path);
    req.version(11);
    const bool v6 = ep.host.find(':') != std::string::npos;
    req.set(http::field::host, (v6 ? "[" + ep.host + "]" : ep.host) +
                                   (ep.port == 80 ? "" : ":" + std::to_string(ep.port)));
    req.set(http::field::user_agent, "cloudtwin-agent");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.prepare_payload();
    return req;
  }

  // Runs one asynchronous operation to completion (async, so that the stream's
  // expiry bounds it: Beast's timeouts apply to asynchronous operations only).
  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  bool connect(const MetadataEndpoint& ep, beast::error_code& ec) {
    const auto address = asio::ip::make_address(ep.host, ec);
    if (ec) return false;
    stream_.emplace(ioc_);
    stream_->expires_after(timeout_);
    ec = run([&](auto handler) {
      stream_->async_connect(tcp::endpoint(address, static_cast<unsigned short>(ep.port)),
                             std::move(handler));
    });
    if (ec) {
      stream_.reset();
      return false;
    }
    // Requests go out when written (each is one write), not held by Nagle for an ACK.
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    return true;
  }

  std::optional<MetadataResponse> exchange(const MetadataRequest& request, beast::error_code& ec) {
    auto req = make_request(request);
    buffer_.clear();
    stream_->expires_after(timeout_);
    ec = run([&](auto handler) { http::async_write(*stream_, req, std::move(handler)); });
    if (ec) return std::nullopt;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    stream_->expires_after(timeout_);
    ec =
        run([&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); });
    if (ec) return std::nullopt;
    auto response = parser.release();
    if (!response.keep_alive()) stream_.reset();
    return MetadataResponse{static_cast<int>(response.result_int()), std::move(response.body())};
  }

  std::vector<MetadataEndpoint> endpoints_;
  std::chrono::milliseconds timeout_;
  std::size_t current_ = 0;
  asio::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::unique_ptr<MetadataClient> make_beast_metadata_client(std::vector<MetadataEndpoint> endpoints,
                                                           std::chrono::milliseconds timeout) {
  return std::make_unique<BeastMetadataClient>(std::move(endpoints), timeout);
}

}  // namespace cloudtwin::agent
