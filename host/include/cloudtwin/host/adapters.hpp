#pragma once
// The seams of the host module: everything that touches libvirt, the disk or a process.
// Services take these by reference; tests pass fakes that can fail at the Nth call.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/host/bridge_addresses.hpp"

namespace cloudtwin::host {

struct DomainInfo {
  std::string name;
  bool active = false;
  std::optional<std::string> record_element;  // our <metadata> element, if any
  unsigned vcpu = 0;                          // as defined (a stopped VM keeps its claim)
  std::uint64_t memory_mib = 0;
};

// The machine libvirt runs on (virNodeGetInfo).
struct NodeInfo {
  unsigned cpus = 0;
  std::uint64_t memory_mib = 0;
  bool operator==(const NodeInfo&) const = default;
};

struct NetworkInfo {
  std::string name;
  bool active = false;
  std::string xml;
};

// A VM's serial console as a byte stream (virDomainOpenConsole).
class ConsoleStream {
 public:
  virtual ~ConsoleStream() = default;
  // Waits up to `timeout_ms` for guest output: the bytes, "" when none came, nullopt when
  // the console closed (the VM stopped or another client took it over).
  virtual std::optional<std::string> receive(int timeout_ms) = 0;
  virtual void send(std::string_view bytes) = 0;
};

// Operations on one libvirt connection. Every failure throws cloudtwin::Error naming the
// object; "not found" is Error(NotFound).
class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual void define_network(const std::string& xml) = 0;
  virtual void start_network(const std::string& name) = 0;  // and mark autostart
  virtual void destroy_network(const std::string& name) = 0;
  virtual void undefine_network(const std::string& name) = 0;
  virtual std::vector<NetworkInfo> list_networks() = 0;
  virtual void add_dhcp_host(const std::string& network, const std::string& host_xml) = 0;
  virtual void remove_dhcp_host(const std::string& network, const std::string& host_xml) = 0;

  virtual void define_domain(const std::string& xml) = 0;
  virtual void start_domain(const std::string& name) = 0;
  virtual void destroy_domain(const std::string& name) = 0;
  virtual void undefine_domain(const std::string& name) = 0;
  virtual std::vector<DomainInfo> list_domains() = 0;
  virtual void shutdown_domain(const std::string& name) = 0;  // ACPI request; returns at once
  virtual void reboot_domain(const std::string& name) = 0;
  virtual std::string domain_xml(const std::string& name) = 0;  // as libvirt stores it
  // `force`: take the console over from another client.
  virtual std::unique_ptr<ConsoleStream> open_console(const std::string& name, bool force) = 0;
  virtual NodeInfo node_info() = 0;
};

// Addresses on the host's links, through rtnetlink (bridge-mode networks). Failures throw
// cloudtwin::Error naming the link and the address.
class LinkAddresses {
 public:
  virtual ~LinkAddresses() = default;
  // nullopt when no link has that name.
  virtual std::optional<ObservedLink> observe(const std::string& link) = 0;
  // Adding an address that is there, or removing one that is gone, succeeds.
  virtual void apply(const AddressOp& op) = 0;
};

// Writes an ISO 9660 image (Joliet + Rock Ridge) with the given volume label.
class IsoWriter {
 public:
  virtual ~IsoWriter() = default;
  struct File {
    std::string name;       // in the root directory of the CD
    std::string content;    // when host_path is empty
    std::string host_path;  // copy this file instead
  };
  virtual void write(const std::string& path, const std::string& volume_id,
                     const std::vector<File>& files) = 0;
};

// Files and disks on the host.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual void create_dir(const std::string& path) = 0;  // parents must exist
  virtual void remove_dir(const std::string& path) = 0;  // must be empty; absent is fine
  virtual void create_overlay(const std::string& base, const std::string& path) = 0;  // qcow2
  // Absent is fine. Default: the overlay is a plain file.
  virtual void remove_overlay(const std::string& path) { remove_file(path); }
  virtual void remove_file(const std::string& path) = 0;  // absent is fine
  virtual bool exists(const std::string& path) = 0;
  // Names of the regular files in `dir` whose names do not start with '.', sorted.
  virtual std::vector<std::string> list_files(const std::string& dir) = 0;
  virtual void rename(const std::string& from, const std::string& to) = 0;  // same file system
  // An exclusive lock held until the returned handle is released: serialises address
  // leasing between concurrent `vm create` runs on one host.
  virtual std::shared_ptr<void> lock(const std::string& path) = 0;
};

// qemu-img, for base images.
class ImageTool {
 public:
  virtual ~ImageTool() = default;
  // `qemu-img info --output=json` (format probed unless given); throws Error naming the file.
  virtual std::string info_json(const std::string& path, const std::string& format) = 0;
  // `qemu-img convert -p -f FORMAT -O qcow2 SRC DST`; `progress` gets 0..100.
  virtual void convert_to_qcow2(const std::string& src, const std::string& format,
                                const std::string& dst,
                                const std::function<void(double)>& progress) = 0;
};

// The overlay VPN's client side, as `vm create|delete` needs it (cloudtwin::vpn underneath).
class VpnIssuer {
 public:
  virtual ~VpnIssuer() = default;
  virtual std::string state_dir() = 0;
  virtual bool initialised() = 0;  // `cloudtwin vpn init` has run
  // Issues a profile for `instance_id` with the fixed overlay address `ip`; returns its text.
  virtual std::string issue(const std::string& instance_id, const std::string& ip) = 0;
  virtual void revoke(const std::string& instance_id) = 0;  // Error(NotFound): never issued
};

std::unique_ptr<Hypervisor> make_libvirt_hypervisor(const std::string& uri);
std::unique_ptr<IsoWriter> make_libisofs_writer();
std::unique_ptr<LinkAddresses> make_libnl_link_addresses();
std::unique_ptr<Storage> make_local_storage(std::string qemu_img = "qemu-img");
// Overlays as volumes of a libvirt `dir` storage pool on `instances_dir` (found by its target
// path, else defined, started and marked autostart as "cloudtwin-instances"), made with
// virStorageVolCreateXML (<backingStore> qcow2) and removed with virStorageVolDelete; an
// overlay path must be directly in `instances_dir`. Everything else goes to `files`.
std::unique_ptr<Storage> make_libvirt_pool_storage(const std::string& uri,
                                                   const std::string& instances_dir,
                                                   std::unique_ptr<Storage> files);
std::unique_ptr<ImageTool> make_qemu_img_tool(std::string qemu_img = "qemu-img");
std::unique_ptr<VpnIssuer> make_vpn_issuer(std::string state_dir);

}  // namespace cloudtwin::host
