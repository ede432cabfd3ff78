#pragma once
// The real metadata service (cloudtwin::metadata's handler, caller index and Beast
// server) in this process on 127.0.0.1, and a record for it.
#include <memory>
#include <string>
#include <thread>

#include "cloudtwin/metadata/handler.hpp"
#include "cloudtwin/metadata/instance_store.hpp"
#include "cloudtwin/metadata/os_random.hpp"
#include "cloudtwin/metadata/server.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::agent::testing {

// Two NICs: the primary's MAC encodes its address (a cloudtwin VM), the second does not.
inline std::string record(const std::string& serve_to, const std::string& tokens = "optional") {
  return R"({"instance-id": "i-0abc", "local-hostname": "twin-1.internal",
  "network-interfaces": [
    {"mac": "02:00:c0:a8:7a:0a", "device-number": 0, "local-ipv4s": ["192.168.122.10"],
     "subnet-ipv4-cidr-block": "192.168.122.0/24"},
    {"mac": "0e:00:00:00:00:02", "device-number": 1, "local-ipv4s": ["10.2.0.5", "10.2.0.6"],
     "subnet-ipv4-cidr-block": "10.2.0.0/24"}],
  "public-keys": [{"name": "k1", "openssh-key": "ssh-ed25519 AAAA one"},
                  {"name": "k2", "openssh-key": "ssh-ed25519 BBBB two"}],
  "user-data": "#!/bin/sh\necho hi\n",
  "metadata-options": {"http-tokens": ")" +
         tokens + R"("},
  "serve-to": [")" +
         serve_to + R"("]})";
}

// The service's own caller index: the record's serve-to decides who gets an answer.
class OneStore : public metadata::InstanceStore {
 public:
  explicit OneStore(std::shared_ptr<const metadata::ServedInstance> s) { index_.build({s}); }
  std::shared_ptr<const metadata::ServedInstance> find(std::string_view listener,
                                                       std::string_view address) override {
    return index_.find(listener, address);
  }

 private:
  metadata::InstanceIndex index_;
};

// The real service in this process, on 127.0.0.1 (port 0: the kernel chooses).
class Service {
 public:
  explicit Service(const std::string& json, int port = 0)
      : store_(metadata::make_served(record::parse_instance_json(json, "test.json"), nullptr)) {
    server_ = std::make_unique<metadata::Server>(
        std::vector<metadata::ListenSpec>{
            metadata::ListenSpec::parse("127.0.0.1:" + std::to_string(port))},
        store_, handler_, [](const std::string&) {});
    port_ = server_->bound().at(0).port;
    thread_ = std::thread([this] { server_->run(1); });
  }
  ~Service() {
    server_->stop();
    thread_.join();
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  metadata::OsRandom random_;
  metadata::TokenService tokens_{random_};
  metadata::Handler handler_{tokens_};
  OneStore store_;
  std::unique_ptr<metadata::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cloudtwin::agent::testing
