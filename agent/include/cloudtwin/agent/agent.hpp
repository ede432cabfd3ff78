#pragma once
// The agent's stages over injected datasources and netlink: `local` (network, before the
// distro's networking), `final` (hostname, SSH keys, USERNAME, user-data once per instance),
// then the overlay VPN (vpn_join.hpp); `status` (print the last report). Every step runs even when
// another failed; the exit code says whether any did.

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <vector>

#include "cloudtwin/agent/datasource.hpp"
#include "cloudtwin/agent/netlink.hpp"
#include "cloudtwin/agent/report.hpp"
#include "cloudtwin/agent/user_data_run.hpp"
#include "cloudtwin/agent/vpn_join.hpp"

namespace cloudtwin::agent {

struct AgentOptions {
  std::filesystem::path root = "/";
  std::filesystem::path state_dir = "/var/lib/cloudtwin-agent";  // under root
  PlanOptions plan;
  bool set_kernel_hostname = false;           // only when root is "/"
  std::chrono::milliseconds vpn_wait{20000};  // for the overlay tunnel in `final`
  std::string renderer = "auto";              // [network] renderer: persisted config for the distro
};

class Agent {
 public:
  using NetlinkFactory = std::function<std::unique_ptr<Netlink>()>;
  using HostnameSetter = std::function<void(const std::string&)>;
  using TunnelFactory = std::function<std::unique_ptr<TunnelService>()>;

  Agent(AgentOptions options, std::vector<std::unique_ptr<Datasource>> sources,
        NetlinkFactory netlink, std::ostream& out, std::ostream& err,
        HostnameSetter set_hostname = {}, ProcessRunner* runner = nullptr,
        TunnelFactory tunnel = {});

  int local();
  int final_stage();
  int status();

  std::filesystem::path status_path() const;

 private:
  Datasource* find_source(StageReport& report, bool fallback_network);
  void metadata_fallback(StageReport& report);
  int finish(StageReport& report);
  StepResult persist_network(const Datasource& source, std::vector<std::string>& messages);

  AgentOptions options_;
  std::vector<std::unique_ptr<Datasource>> sources_;
  NetlinkFactory netlink_;
  std::ostream& out_;
  std::ostream& err_;
  HostnameSetter set_hostname_;
  ProcessRunner* runner_;
  TunnelFactory tunnel_;
  bool fallback_done_ = false;
  std::chrono::steady_clock::time_point stage_start_{};
};

}  // namespace cloudtwin::agent
