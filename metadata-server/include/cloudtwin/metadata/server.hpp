#pragma once
// Adapter: HTTP/1.1 (keep-alive) over Boost.Beast + Asio. Only I/O lives here: each
// request is mapped to (listener device, source address) -> instance through the
// InstanceStore, checked against the kernel's neighbour table and the per-VM limits,
// and answered by the Handler. Responses are serialised by hand (the hot path: no
// per-request header containers).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cloudtwin/metadata/handler.hpp"
#include "cloudtwin/metadata/instance_store.hpp"
#include "cloudtwin/metadata/limits.hpp"
#include "cloudtwin/metadata/neighbor_table.hpp"

namespace cloudtwin::metadata {

struct ListenSpec {
  std::string address;  // "169.254.169.254", "fd00:ec2::254"
  std::uint16_t port = 80;
  std::string device;  // bind to this interface (SO_BINDTODEVICE); "" = any

  // "ADDR:PORT", "[V6]:PORT", optionally followed by "@DEVICE".
  // Throws Error(InvalidArgument) saying what is wrong.
  static ListenSpec parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const ListenSpec&) const = default;
};

struct ServerOptions {
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // A request begun (a byte of it seen) must be complete within this, else the
  // connection is closed without an answer, as nginx does at client_header_timeout.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(5);
  std::size_t header_limit = 8 * 1024;  // past it: 431
  std::size_t body_limit = 4 * 1024;    // past it: 413
  bool access_log = false;              // method, path, status, source; never headers
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
  // When set, a known caller whose source address the kernel has at another MAC than
  // the record's NICs gets 403 (asked once per connection). Must outlive the server.
  NeighborTable* neighbors = nullptr;
  // Per VM: requests per second (429 past it) and open connections (a connection past
  // the cap is answered 429 and closed). Unknown callers are capped per source address
  // and all together; all connections together too. When accept() runs out of
  // descriptors the listener sheds one pending connection and pauses (10 ms doubling to
  // 1 s), logging at most once per 10 s.
  LimitOptions limits;
};

class Server {
 public:
  // Binds every listener (throws Error(System) naming the address on failure).
  Server(const std::vector<ListenSpec>& listen, InstanceStore& store, const Handler& handler,
         LogSink log, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound addresses, with the port the kernel chose for port 0.
  std::vector<ListenSpec> bound() const;
  // From now on SIGINT/SIGTERM stop the server, SIGHUP calls `on_hangup` (on a server
  // thread), and the other signals a daemon meets (USR1, USR2, ALRM, PIPE, real-time,
  // ...) are logged and ignored instead of ending the process. Call before telling the
  // supervisor that the service is ready.
  void catch_signals(std::function<void()> on_hangup);
  // Serves until stop() (or a signal, see catch_signals, when handle_signals), on
  // `threads` threads.
  void run(unsigned threads = 1, bool handle_signals = false);
  // Switches the access log on or off while serving (a reloaded [server] access_log).
  void set_access_log(bool on);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudtwin::metadata
