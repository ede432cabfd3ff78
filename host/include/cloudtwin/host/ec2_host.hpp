#pragma once
// The Host over Amazon EC2 (or any EC2-compatible API): `vm create` runs the template's
// EC2 = [ AMI = ... ] as an instance, `vm list|show|stop|start|reboot|delete` act on it.
// Pure: the EC2 client's seams (HTTP, hashes, time), the record store, the random source
// and the VPN issuer come through Ec2Adapters.
//
// Crash safety: the record is written before RunInstances with the VM's instance-id,
// which is also RunInstances' ClientToken. A `vm create` killed at any point leaves that
// record; run again with the same name, it finds the instance by its ClientToken
// (DescribeInstances, filter client-token) instead of starting a second, paid, one.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/aws/crypto.hpp"
#include "cloudtwin/aws/ec2_client.hpp"
#include "cloudtwin/aws/http_client.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/host.hpp"
#include "cloudtwin/host/lease.hpp"

namespace cloudtwin::host {

// host.conf [ec2] (written by `cloudtwin cloud add ec2`).
struct Ec2Config {
  std::string region;
  std::string endpoint;  // empty: https://ec2.REGION.amazonaws.com/
  std::string profile;   // empty: AWS_PROFILE, else "default"
  // max_instances = t3.micro:4, m5.large:1: how many instances of each type cloudtwin may
  // run; empty: no cap (a type not listed when some are is not allowed).
  std::vector<std::pair<std::string, unsigned>> max_instances;
  std::string instance_type = "t3.micro";  // default_instance_type: when EC2/INSTANCETYPE is unset
  // DescribeInstances polling until running: attempts, first wait, longest wait.
  int poll_attempts = 60;
  std::chrono::milliseconds poll_first{500};
  std::chrono::milliseconds poll_max{8000};
  bool operator==(const Ec2Config&) const = default;
};

// "t3.micro:4, m5.large:1" -> {{t3.micro, 4}, {m5.large, 1}}. Throws Error(InvalidArgument)
// saying which item is wrong.
std::vector<std::pair<std::string, unsigned>> parse_max_instances(std::string_view text);

// The records of EC2 VMs on this machine (adapters: one 0600 JSON file per VM).
class Ec2RecordStore {
 public:
  virtual ~Ec2RecordStore() = default;
  virtual std::vector<record::Instance> load() = 0;  // by VM name (host.name)
  virtual void save(const record::Instance& r) = 0;  // replaces atomically
  virtual void erase(const std::string& vm) = 0;     // absent is fine
};
std::unique_ptr<Ec2RecordStore> make_ec2_record_files(std::string dir);

struct Ec2Adapters {
  std::unique_ptr<aws::HttpClient> http;
  std::unique_ptr<aws::Crypto> crypto;
  std::unique_ptr<aws::Ec2Timing> timing;
  std::unique_ptr<Ec2RecordStore> records;
  std::unique_ptr<Random> random;
  std::unique_ptr<VpnIssuer> vpn;  // may be null: VPN = YES is then refused
  // Resolved on first use, so hosts with no EC2 VM never need credentials. Never logged.
  std::function<aws::Credentials()> credentials;
  const Clock* clock = nullptr;  // null: the system's
};

// EC2's state names as the Host interface's.
VmState ec2_state(std::string_view name);

class Ec2Host final : public Host {
 public:
  Ec2Host(std::string name, Ec2Config config, Ec2Adapters adapters);
  ~Ec2Host() override;

  std::string name() const override { return name_; }
  std::string kind() const override { return "ec2"; }
  VmSummary create(const VmTemplate& tmpl, const CreateOptions& options) override;
  bool start(const std::string& vm) override;
  bool stop(const std::string& vm, bool force) override;
  void reboot(const std::string& vm) override;
  std::vector<std::string> remove(const std::string& vm) override;
  VmState state(const std::string& vm) override { return show(vm).state; }
  VmSummary show(const std::string& vm) override;
  std::vector<VmSummary> list() override;
  Capacity capacity() override;

  const Ec2Config& config() const noexcept { return config_; }
  std::string location() const { return "ec2:" + config_.region; }
  std::string instance_type_of(const VmTemplate& tmpl) const;

 private:
  aws::Ec2Client& client();
  record::Instance find(const std::string& vm);
  aws::Instance wait_for(const std::string& ec2_id, std::string_view wanted);
  std::vector<VmSummary> refreshed(std::vector<record::Instance> records);
  void apply_create(const VmTemplate& tmpl, const std::string& user_ssh_key, record::Instance& r,
                    bool resumed, std::vector<std::function<void()>>& undo);

  std::string name_;
  Ec2Config config_;
  Ec2Adapters a_;
  std::unique_ptr<aws::Ec2Client> client_;
};

}  // namespace cloudtwin::host
