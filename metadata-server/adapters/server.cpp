#include "cloudtwin/metadata/server.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (scheduler.ipp "potential null pointer dereference"; awaitable frames'
// operator delete "mismatched-new-delete"). Both are in Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (const char c : s.substr(0, max)) out += (c > 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > max) out += "...";
  return out;
}

std::string caller_address(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

// Sets the unicast TTL / hop limit of the socket; returns the previous value (0 if unknown).
int set_ttl(tcp::socket& s, bool v6, int ttl) {
  const int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
  const int name = v6 ? IPV6_UNICAST_HOPS : IP_TTL;
  int old = 0;
  socklen_t len = sizeof old;
  if (::getsockopt(s.native_handle(), level, name, &old, &len) != 0) old = 0;
  ::setsockopt(s.native_handle(), level, name, &ttl, sizeof ttl);
  if (v6) ::setsockopt(s.native_handle(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);  // v4-mapped peers
  return old;
}

}  // namespace

struct Server::Impl {
  InstanceStore& store;
  const Handler& handler;
  LogSink log;
  ServerOptions options;
  asio::io_context ioc;
  std::vector<std::pair<ListenSpec, std::unique_ptr<tcp::acceptor>>> acceptors;

  Impl(InstanceStore& s, const Handler& h, LogSink l, ServerOptions o)
      : store(s), handler(h), log(std::move(l)), options(std::move(o)) {}

  void bind(const ListenSpec& spec) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(spec.address, ec);
    if (ec)
      throw Error(ErrorCode::InvalidArgument,
                  "listen address '" + spec.address + "' is not an IP address");
    const tcp::endpoint ep(address, spec.port);
    auto acc = std::make_unique<tcp::acceptor>(ioc);
    const auto what = [&](const std::string& step) {
      return Error(ErrorCode::System,
                   "cannot listen on " + spec.to_string() + ": " + step + ": " + ec.message());
    };
    if (acc->open(ep.protocol(), ec); ec) throw what("socket");
    if (acc->set_option(asio::socket_base::reuse_address(true), ec); ec) throw what("SO_REUSEADDR");
    if (!spec.device.empty() &&
        ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_BINDTODEVICE, spec.device.c_str(),
                     static_cast<socklen_t>(spec.device.size())) != 0) {
      ec.assign(errno, boost::system::system_category());
      throw what("SO_BINDTODEVICE " + spec.device);
    }
    if (acc->bind(ep, ec); ec) throw what("bind");
    if (acc->listen(asio::socket_base::max_listen_connections, ec); ec) throw what("listen");
    ListenSpec bound = spec;
    bound.port = acc->local_endpoint().port();
    acceptors.emplace_back(bound, std::move(acc));
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acc, std::string device) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      if (ec) {
        log("accept failed: " + ec.message());
        continue;
      }
      asio::co_spawn(acc.get_executor(), session(beast::tcp_stream(std::move(socket)), device),
                     asio::detached);
    }
  }

  Request to_request(const http::request<http::string_body>& req) const {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return r;
  }

  static int status_for(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    return 400;
  }

  asio::awaitable<void> session(beast::tcp_stream stream, std::string device) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    const auto peer = stream.socket().remote_endpoint(ec);
    if (ec) co_return;
    const std::string source = caller_address(peer);
    const bool v6 = peer.address().is_v6();
    for (;;) {
      stream.expires_after(options.idle_timeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted) {
        break;
      }
      Response response;
      bool keep_alive = false;
      unsigned version = 11;
      if (ec) {
        response = error_response(status_for(ec));
      } else {
        const auto& req = parser.get();
        keep_alive = req.keep_alive();
        version = req.version();
        const auto request = to_request(req);
        const auto caller = store.find(device, source);
        response = handler.handle(request, caller.get(), options.now());
        if (options.access_log) {
          const auto path = request.target.substr(0, request.target.find('?'));
          log(source + " " + printable(request.method, 16) + " " + printable(path, 256) + " " +
              std::to_string(response.status));
        }
      }
      http::response<http::string_body> res{static_cast<http::status>(response.status), version};
      res.set(http::field::server, "EC2ws");
      for (const auto& [name, value] : response.headers) res.set(name, value);
      res.body() = std::move(response.body);
      res.keep_alive(keep_alive);
      res.prepare_payload();
      const int old_ttl = response.ip_ttl > 0 ? set_ttl(stream.socket(), v6, response.ip_ttl) : 0;
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (old_ttl > 0) set_ttl(stream.socket(), v6, old_ttl);
      if (ec || !keep_alive) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
};

Server::Server(const std::vector<ListenSpec>& listen, InstanceStore& store, const Handler& handler,
               LogSink log, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, handler, std::move(log), std::move(options))) {
  if (listen.empty()) throw Error(ErrorCode::InvalidArgument, "no address to listen on");
  for (const auto& spec : listen) impl_->bind(spec);
  for (auto& [spec, acc] : impl_->acceptors) {
    asio::co_spawn(impl_->ioc, impl_->accept_loop(*acc, spec.device), asio::detached);
  }
}

Server::~Server() = default;

std::vector<ListenSpec> Server::bound() const {
  std::vector<ListenSpec> out;
  for (const auto& [spec, acc] : impl_->acceptors) out.push_back(spec);
  return out;
}

void Server::run(unsigned threads, bool handle_signals) {
  std::unique_ptr<asio::signal_set> signals;
  if (handle_signals) {
    signals = std::make_unique<asio::signal_set>(impl_->ioc, SIGINT, SIGTERM);
    signals->async_wait([this](const boost::system::error_code&, int) { stop(); });
  }
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : pool) t.join();
}

void Server::stop() {
  asio::post(impl_->ioc, [this] {
    for (auto& [spec, acc] : impl_->acceptors) {
      boost::system::error_code ec;
      acc->close(ec);
    }
    impl_->ioc.stop();
  });
}

}  // namespace cloudtwin::metadata
