#pragma once
// Adapter: the root-only unix socket of `cloudtwin-metadata ctl`. A client sends its
// words NUL-terminated, then shuts down its sending side; the reply is "0\n" + text or
// "1\n" + error message. The socket file is created 0600 and only peers with the
// daemon's own uid (SO_PEERCRED) are answered.

#include <functional>
#include <iosfwd>
#include <string>
#include <thread>
#include <vector>

#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

inline constexpr const char* kDefaultCtlSocket = "/run/cloudtwin/metadata.sock";

class CtlServer {
 public:
  // Runs one command; throws cloudtwin::Error for a bad one (sent back as "1\n" + what()).
  using Execute = std::function<std::string(const std::vector<std::string>&)>;
  // Binds `path` (a stale socket file there is replaced; its directory is created 0755
  // when missing) and serves on a thread of its own. Throws Error(Io) when it cannot.
  CtlServer(std::string path, Execute execute, LogSink log);
  ~CtlServer();
  CtlServer(const CtlServer&) = delete;
  CtlServer& operator=(const CtlServer&) = delete;

 private:
  void serve_one(int fd);
  std::string path_;
  Execute execute_;
  LogSink log_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

// The client side: sends `args`, prints the reply to `out` (or the error to `err`).
// Returns 0 on success, 1 when the command failed or the daemon cannot be reached.
int run_ctl_client(const std::string& socket_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::metadata
