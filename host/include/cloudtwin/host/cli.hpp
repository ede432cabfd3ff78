#pragma once
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/console.hpp"
#include "cloudtwin/host/host_conf.hpp"
#include "cloudtwin/host/inventory.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/vm_service.hpp"

namespace cloudtwin::host {

// What `cloudtwin` needs from the outside world; tests replace any of it.
struct CliEnv {
  std::function<std::unique_ptr<Hypervisor>(const std::string& uri)> connect;
  std::function<std::unique_ptr<IsoWriter>()> iso_writer;
  std::function<std::unique_ptr<Storage>()> storage;
  // Storage whose overlays go through a libvirt storage pool ([storage] overlays); unset:
  // `storage` makes them.
  std::function<std::unique_ptr<Storage>(const std::string& uri, const std::string& instances_dir)>
      pool_storage;
  std::function<std::unique_ptr<Random>()> random;
  std::function<std::unique_ptr<ImageTool>()> image_tool;
  std::function<std::unique_ptr<VpnIssuer>(const std::string& state_dir)> vpn;
  std::function<std::unique_ptr<Terminal>()> terminal;
  // For bridge-mode networks; unset: they are refused.
  std::function<std::unique_ptr<LinkAddresses>()> link_addresses;
  // Contents of a file, or nullopt when it does not exist; throws Error(Io) otherwise.
  std::function<std::optional<std::string>(const std::string& path)> read_file;
  // Replaces a file atomically with `mode` (`cloud add` writes host.conf).
  std::function<void(const std::string& path, const std::string& text, unsigned mode)> write_file;
  // The EC2 host's client seams (HTTP, hashes, time, credentials) for host.conf [ec2];
  // unset: EC2 is refused. Records and VPN come from the fields above.
  std::function<Ec2Adapters(const Ec2Config&)> ec2;
  // Where the EC2 host keeps its records; unset: files under [storage] instances/ec2.
  std::function<std::unique_ptr<Ec2RecordStore>(const std::string& dir)> ec2_records;
  // The inventory at host.conf [inventory] path; unset: SQLite (make_sqlite_inventory).
  std::function<std::unique_ptr<Inventory>(const std::string& path)> inventory;
  std::string config_path = "/etc/cloudtwin/host.conf";
};

CliEnv default_cli_env();

// Entry point of `cloudtwin`: args exclude argv[0]. Returns the process exit code
// (0 ok, 1 error, 2 usage).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const CliEnv& env);

}  // namespace cloudtwin::host
