#include "cloudtwin/metadata/server.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (scheduler.ipp "potential null pointer dereference"; awaitable frames'
// operator delete "mismatched-new-delete"). Both are in Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// How long a connection the server ends keeps reading (and dropping) the client's bytes.
constexpr std::chrono::seconds kLinger{2};

// accept() failing for want of descriptors or memory: wait, doubling up to the cap,
// instead of retrying at once (the listener stays readable: a retry loop spins).
constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr std::chrono::seconds kAcceptLogInterval{10};

// Signals a daemon meets without being asked to stop (logrotate's HUP is handled on
// its own): logged and otherwise ignored, so a stray kill -USR1 costs no guest its
// tokens. SIGPIPE is ignored silently: a log write to a closed pipe raises it.
constexpr std::array kIgnoredSignals = {SIGUSR1,   SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
                                        SIGPOLL,   SIGPWR,  SIGXCPU, SIGXFSZ,   SIGTRAP,
#ifdef SIGSTKFLT
                                        SIGSTKFLT,
#endif
                                        SIGPIPE};

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

#ifdef IPV6_FREEBIND
constexpr int kIpv6Freebind = IPV6_FREEBIND;
#else
constexpr int kIpv6Freebind = 78;  // Linux 4.15+, <linux/in6.h>
#endif

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

// "HTTP/1.1 200 OK\r\n..." with Content-Length; `out` is reused across requests.
void serialise(std::string& out, const Response& r, bool keep_alive, unsigned version) {
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\nServer: EC2ws\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(r.body.size());
  if (!keep_alive)
    out += "\r\nConnection: close";
  else if (version < 11)
    out += "\r\nConnection: keep-alive";
  out += "\r\n\r\n";
}

}  // namespace

struct Server::Impl {
  InstanceStore& store;
  const Handler& handler;
  LogSink log;
  ServerOptions options;
  // Before ioc: sessions still suspended when ioc is destroyed release their count.
  RequestThrottle throttle;
  ConnectionCounter connections;
  asio::io_context ioc;
  unsigned threads = 1;  // set by run() before any connection is accepted
  std::vector<std::pair<ListenSpec, std::unique_ptr<tcp::acceptor>>> acceptors;
  std::atomic<bool> access_log;
  LogRateLimit accept_log{kAcceptLogInterval};
  // Held open to be closed when accept() meets EMFILE: one descriptor to take the
  // pending connection and close it, so its client hears a close instead of waiting.
  int reserve_fd = -1;
  std::mutex reserve_mutex;
  std::unique_ptr<asio::signal_set> signals;

  Impl(InstanceStore& s, const Handler& h, LogSink l, ServerOptions o)
      : store(s),
        handler(h),
        log(std::move(l)),
        options(std::move(o)),
        throttle(options.limits),
        connections(options.limits.connections_per_vm, options.limits.connections,
                    options.limits.connections_unknown),
        access_log(options.access_log),
        reserve_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

  ~Impl() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  // Takes one pending connection off `acc` with the reserve descriptor and closes it.
  void shed(tcp::acceptor& acc) {
    const std::lock_guard lock(reserve_mutex);
    if (reserve_fd >= 0) {
      ::close(reserve_fd);
      reserve_fd = -1;
    }
    const int fd = ::accept4(acc.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) ::close(fd);
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  void log_accept_failure(const boost::system::error_code& ec, std::chrono::milliseconds wait) {
    const auto suppressed = accept_log.admit(Clock::now());
    if (!suppressed) return;
    std::string line = "accept failed: " + ec.message();
    if (out_of_descriptors(ec)) {
      line += " (" + std::to_string(connections.total()) +
              " connections open); shedding one and pausing accept for " +
              std::to_string(wait.count()) + " ms; raise LimitNOFILE or lower [limits] connections";
    }
    if (*suppressed > 0)
      line += " (" + std::to_string(*suppressed) + " more since the last report)";
    log(line);
  }

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
    // Free bind: the service may start before the bridge carries its address (boot
    // order, a libvirt network started later, fd00:ec2::254 still "tentative" during
    // duplicate-address detection); it answers as soon as the address is there.
    const int on = 1;
    const bool v6 = address.is_v6();
    if (::setsockopt(acc->native_handle(), v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                     v6 ? kIpv6Freebind : IP_FREEBIND, &on, sizeof on) != 0) {
      ec.assign(errno, boost::system::system_category());
      throw what(v6 ? "IPV6_FREEBIND" : "IP_FREEBIND");
    }
    if (acc->bind(ep, ec); ec) throw what("bind");
    if (acc->listen(asio::socket_base::max_listen_connections, ec); ec) throw what("listen");
    // shed() calls accept() itself: it must never block a server thread.
    if (acc->native_non_blocking(true, ec); ec) throw what("O_NONBLOCK");
    ListenSpec bound = spec;
    bound.port = acc->local_endpoint().port();
    acceptors.emplace_back(bound, std::move(acc));
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acc, std::string device) {
    auto backoff = kFirstBackoff;
    asio::steady_timer pause(acc.get_executor());
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      if (ec) {
        if (out_of_descriptors(ec)) shed(acc);
        log_accept_failure(ec, backoff);
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!acc.is_open()) co_return;
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      backoff = kFirstBackoff;
      socket.set_option(tcp::no_delay(true), ec);
      // One thread needs no strand; with more, a connection's two coroutines (session
      // and watchdog) must not run at once.
      const asio::any_io_executor ex = threads > 1 ? asio::any_io_executor(asio::make_strand(ioc))
                                                   : asio::any_io_executor(ioc.get_executor());
      auto conn = std::make_shared<Conn>(std::move(socket));
      asio::co_spawn(ex, watchdog(conn), asio::detached);
      asio::co_spawn(ex, session(std::move(conn), device), asio::detached);
    }
  }

  // A plain socket plus one lazily re-armed timer: requests only record the time they
  // arrived, instead of arming a timer around every read and write (beast::tcp_stream).
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
    Clock::time_point last = Clock::now();
    // Set while a request has begun and not ended, or while lingering after a close.
    Clock::time_point request_deadline = Clock::time_point::max();
    bool done = false;

    Clock::time_point deadline(std::chrono::milliseconds idle) const {
      return std::min(last + idle, request_deadline);
    }
    // Brings the watchdog's wake-up forward (its wait ends, it re-arms at the new time).
    void must_end_by(Clock::time_point t) {
      request_deadline = t;
      if (t < timer.expiry()) timer.expires_at(t);
    }
  };

  // Closes the connection once it has been idle (or stuck in one reply) for
  // idle_timeout, or a request begun is not complete within header_timeout: slow
  // clients cannot hold a connection.
  asio::awaitable<void> watchdog(std::shared_ptr<Conn> c) {
    boost::system::error_code ec;
    while (!c->done) {
      c->timer.expires_at(c->deadline(options.idle_timeout));
      co_await c->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (c->done) break;
      if (Clock::now() >= c->deadline(options.idle_timeout)) {
        c->socket.close(ec);  // the session's pending read or write ends with an error
        break;
      }
    }
  }

  static Request to_request(const http::request<http::string_body>& req) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.headers.reserve(static_cast<std::size_t>(std::distance(req.begin(), req.end())));
    for (const auto& f : req)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    return r;
  }

  static int status_for(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    return 400;
  }

  // What one connection knows about its caller: fixed by the TCP peer.
  struct Peer {
    std::string device;
    std::string source;
    std::string limit_key;  // the VM's instance-id, or "?" + device + source when unknown
    std::optional<std::vector<std::string>> macs;  // neighbour entries, read on first use
    bool mismatch_logged = false;
  };

  // The caller's MACs must match its record; 0 when they do, else the status to send.
  int check_neighbors(Peer& peer, const ServedInstance& caller) {
    if (options.neighbors == nullptr) return 0;
    if (!peer.macs) {
      try {
        peer.macs = options.neighbors->macs(peer.device, peer.source);
      } catch (const std::exception& e) {
        log(std::string(e.what()) + "; answering " + peer.source + " with 503");
        return 503;
      }
    }
    if (neighbor_macs_match(caller.instance, *peer.macs)) return 0;
    if (!peer.mismatch_logged) {
      peer.mismatch_logged = true;
      std::string seen;
      for (const auto& m : *peer.macs) seen += (seen.empty() ? "" : ",") + m;
      log("refusing " + peer.source + (peer.device.empty() ? "" : "@" + peer.device) +
          ": the kernel sees it at MAC " + seen + ", which is not a NIC of " +
          caller.instance.instance_id + " (spoofed address?)");
    }
    return 403;
  }

  Response answer(const http::request<http::string_body>& req, Peer& peer) {
    const auto request = to_request(req);
    const auto caller = store.find(peer.device, peer.source);
    Response response;
    const auto now = options.now();
    if (caller) {
      if (const int refused = check_neighbors(peer, *caller)) {
        response = error_response(refused);
      } else if (!throttle.admit(caller->instance.instance_id, now)) {
        response = error_response(429);
      }
    }
    if (response.status == 200) response = handler.handle(request, caller.get(), now);
    if (access_log.load(std::memory_order_relaxed)) {
      const auto path = request.target.substr(0, request.target.find('?'));
      log(peer.source + " " + printable(request.method, 16) + " " + printable(path, 256) + " " +
          std::to_string(response.status));
    }
    return response;
  }

  // Counts the connection against its VM (or source address) until destroyed.
  struct Slot {
    ConnectionCounter* counter = nullptr;
    std::string key;
    bool known = true;
    ~Slot() {
      if (counter) counter->close(key, known);
    }
  };

  asio::awaitable<void> session(std::shared_ptr<Conn> conn, std::string device) {
    struct Done {
      Conn& c;
      ~Done() {
        c.done = true;
        c.timer.cancel();
      }
    } done{*conn};
    auto& socket = conn->socket;
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) co_return;
    Peer peer{std::move(device), caller_address(endpoint), {}, {}, false};
    const bool v6 = endpoint.address().is_v6();
    const auto first = store.find(peer.device, peer.source);
    peer.limit_key = first ? first->instance.instance_id : "?" + peer.device + " " + peer.source;
    Slot slot;
    std::string out;
    if (connections.open(peer.limit_key, first != nullptr)) {
      slot.counter = &connections;
      slot.key = peer.limit_key;
      slot.known = first != nullptr;
    } else {
      const auto r = error_response(429);
      serialise(out, r, false, 11);
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(out), asio::buffer(r.body)};
      co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
      socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      parser.body_limit(options.body_limit);
      co_await read_request(*conn, buffer, parser, ec);
      conn->last = Clock::now();
      if (ec == http::error::end_of_stream || ec == asio::error::bad_descriptor ||
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
        keep_alive = parser.get().keep_alive();
        version = parser.get().version();
        response = answer(parser.get(), peer);
      }
      keep_alive = keep_alive && !closes_connection(response.status);
      serialise(out, response, keep_alive, version);
      const int old_ttl = response.ip_ttl > 0 ? set_ttl(socket, v6, response.ip_ttl) : 0;
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(out),
                                                      asio::buffer(response.body)};
      co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
      if (old_ttl > 0) set_ttl(socket, v6, old_ttl);
      if (ec) co_return;
      if (!keep_alive) break;
    }
    co_await linger(*conn, buffer);
  }

  // One request into `parser`, from what `buffer` holds first (pipelined requests),
  // then from the socket. Like http::async_read, except that a request begun (a
  // byte of it seen) must end within header_timeout: the watchdog drops it then.
  asio::awaitable<void> read_request(Conn& c, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser,
                                     boost::system::error_code& ec) {
    ec = {};
    for (;;) {
      if (buffer.size() > 0) {
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (!ec && parser.is_done()) break;
        if (ec && ec != http::error::need_more) break;
        ec = {};
        if (used > 0 && buffer.size() > 0) continue;  // header done, body bytes follow
      }
      if (c.request_deadline == Clock::time_point::max() &&
          (buffer.size() > 0 || parser.got_some())) {
        c.must_end_by(Clock::now() + options.header_timeout);
      }
      const auto n =
          co_await c.socket.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)),
                                            asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::eof) {
        ec = buffer.size() > 0 || parser.got_some() ? http::error::partial_message
                                                    : http::error::end_of_stream;
      }
      if (ec) break;
      buffer.commit(n);
    }
    c.request_deadline = Clock::time_point::max();
  }

  // Closing with unread bytes from the client makes the kernel send RST, which can
  // destroy the answer still on its way (the client sent a body we refused, or more
  // pipelined requests). So, as nginx's lingering close: stop sending, read and drop
  // what comes until the client closes, for at most kLinger.
  asio::awaitable<void> linger(Conn& c, beast::flat_buffer& buffer) {
    boost::system::error_code ec;
    c.socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    c.must_end_by(Clock::now() + kLinger);
    for (;;) {
      buffer.clear();
      co_await c.socket.async_read_some(buffer.prepare(4096),
                                        asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
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

void Server::set_access_log(bool on) { impl_->access_log = on; }

void Server::catch_signals(std::function<void()> on_hangup) {
  if (impl_->signals) return;
  auto& set = impl_->signals;
  set = std::make_unique<asio::signal_set>(impl_->ioc, SIGINT, SIGTERM, SIGHUP);
  for (const int s : kIgnoredSignals) set->add(s);
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) set->add(s);
  struct Waiter {
    Server* server;
    std::function<void()> hangup;
    void operator()(const boost::system::error_code& ec, int signal) {
      if (ec) return;
      auto& impl = *server->impl_;
      if (signal == SIGINT || signal == SIGTERM) {
        server->stop();
        return;
      }
      if (signal == SIGHUP) {
        if (hangup) hangup();
      } else if (signal != SIGPIPE) {
        impl.log("ignoring signal " + std::to_string(signal) + " (" + ::strsignal(signal) +
                 "): only TERM/INT stop the service and HUP reloads it");
      }
      impl.signals->async_wait(*this);
    }
  };
  set->async_wait(Waiter{this, std::move(on_hangup)});
}

void Server::run(unsigned threads, bool handle_signals) {
  if (handle_signals) catch_signals({});
  impl_->threads = threads;
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
