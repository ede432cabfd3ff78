#pragma once
// The real server on 127.0.0.1:0 over a test's store, running on a thread of its own
// until destroyed: the setup the socket tests (server_test, server_limits_test,
// server_close_test) share.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cloudtwin/metadata/handler.hpp"
#include "cloudtwin/metadata/server.hpp"
#include "cloudtwin/metadata/tokens.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata::testing {

class LoopbackServer {
 public:
  LoopbackServer(
      InstanceStore& store, const ServerOptions& options, unsigned threads = 1,
      LogSink log = [](const std::string&) {})
      : server_(std::vector<ListenSpec>{ListenSpec::parse("127.0.0.1:0")}, store, handler_,
                std::move(log), options),
        port_(server_.bound().at(0).port),
        thread_([this, threads] { server_.run(threads); }) {}
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  CountingRandom random_;
  TokenService tokens_{random_};
  Handler handler_{tokens_};
  Server server_;
  std::uint16_t port_;
  std::thread thread_;
};

}  // namespace cloudtwin::metadata::testing
