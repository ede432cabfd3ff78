#include "cloudtwin/ec2test/server.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (see metadata-server/adapters/server.cpp): Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::ec2test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct EndpointServer::Impl {
  Ec2Service& service;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::string address;
  std::thread thread;

  explicit Impl(Ec2Service& s) : service(s) {}

  asio::awaitable<void> session(tcp::socket socket) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(16 * 1024 * 1024);
      co_await http::async_read(socket, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      auto req = parser.release();
      aws::HttpRequest request;
      request.method = std::string(req.method_string());
      request.target = std::string(req.target());
      for (const auto& f : req) {
        request.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      }
      request.body = std::move(req.body());
      const auto answer = service.handle(request);
      http::response<http::string_body> res{static_cast<http::status>(answer.status),
                                            req.version()};
      res.set(http::field::server, "AmazonEC2");
      for (const auto& [name, value] : answer.headers) res.set(name, value);
      res.body() = answer.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !req.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }
};

EndpointServer::EndpointServer(Ec2Service& service, const std::string& address, std::uint16_t port)
    : impl_(std::make_unique<Impl>(service)) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) throw Error(ErrorCode::InvalidArgument, "'" + address + "' is not an IP address");
  const tcp::endpoint ep(ip, port);
  impl_->address = ip.is_v6() ? "[" + address + "]" : address;
  auto& acc = impl_->acceptor;
  const auto fail = [&](const char* step) {
    throw Error(ErrorCode::System, "EC2 test endpoint: cannot listen on " + address + ":" +
                                       std::to_string(port) + ": " + step + ": " + ec.message());
  };
  if (acc.open(ep.protocol(), ec); ec) fail("socket");
  if (acc.set_option(asio::socket_base::reuse_address(true), ec); ec) fail("SO_REUSEADDR");
  if (acc.bind(ep, ec); ec) fail("bind");
  if (acc.listen(asio::socket_base::max_listen_connections, ec); ec) fail("listen");
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

EndpointServer::~EndpointServer() { stop(); }

std::uint16_t EndpointServer::port() const noexcept {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

std::string EndpointServer::url() const {
  return "http://" + impl_->address + ":" + std::to_string(port()) + "/";
}

void EndpointServer::wait() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

void EndpointServer::stop() {
  if (!impl_) return;
  asio::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace cloudtwin::ec2test
