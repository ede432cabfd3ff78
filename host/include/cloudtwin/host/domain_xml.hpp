#pragma once
// libvirt domain XML for a planned VM: disks, CDs, NICs, direct kernel boot, EC2 SMBIOS.

#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/host/template.hpp"
#include "cloudtwin/host/vm_plan.hpp"

namespace cloudtwin::host {

// The kernel command line: OS/KERNEL_CMD exactly as written, preceded by root=/dev/ROOT
// when OS/ROOT is set and KERNEL_CMD has no root= of its own.
std::string kernel_cmdline(const OsSpec& os);

struct DomainSpec {
  std::string type = "qemu";
  std::string machine = "pc";
  std::string name;
  std::string uuid;
  unsigned memory_mib = 512;
  unsigned vcpu = 1;
  std::optional<OsSpec> os;
  std::vector<DiskPlan> disks;
  std::string cdrom_path;
  std::string cdrom_target = "hda";
  std::string cidata_path;  // second CD, target hdb
  std::string console_log;  // <log file=...> on the serial port (the console stays usable)
  std::vector<NicPlan> nics;
  bool ec2_smbios = false;
  // libvirt nwfilter bound to each NIC's IP (needs libvirt-daemon-config-nwfilter); empty: none.
  std::string nwfilter = "clean-traffic";
  std::string metadata_element;  // record_metadata_element(...)
};

std::string render_domain_xml(const DomainSpec& spec);

}  // namespace cloudtwin::host
