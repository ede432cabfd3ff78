#pragma once
// The seams of the host module: everything that touches libvirt, the disk or a process.
// Services take these by reference; tests pass fakes that can fail at the Nth call.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cloudtwin::host {

struct DomainInfo {
  std::string name;
  bool active = false;
  std::optional<std::string> record_element;  // our <metadata> element, if any
};

struct NetworkInfo {
  std::string name;
  bool active = false;
  std::string xml;
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
  virtual void remove_file(const std::string& path) = 0;  // absent is fine
  virtual bool exists(const std::string& path) = 0;
  // An exclusive lock held until the returned handle is released: serialises address
  // leasing between concurrent `vm create` runs on one host.
  virtual std::shared_ptr<void> lock(const std::string& path) = 0;
};

std::unique_ptr<Hypervisor> make_libvirt_hypervisor(const std::string& uri);
std::unique_ptr<IsoWriter> make_libisofs_writer();
std::unique_ptr<Storage> make_local_storage(std::string qemu_img = "qemu-img");

}  // namespace cloudtwin::host
