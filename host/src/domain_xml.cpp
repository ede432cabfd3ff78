#include "cloudtwin/host/domain_xml.hpp"

#include <sstream>

#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {
namespace {

bool has_root_arg(const std::string& cmd) {
  for (std::size_t at = cmd.find("root="); at != std::string::npos;
       at = cmd.find("root=", at + 1)) {
    if (at == 0 || cmd[at - 1] == ' ') return true;
  }
  return false;
}

void render_cdrom(std::ostringstream& x, const std::string& path, const std::string& target) {
  x << "    <disk type='file' device='cdrom'>\n"
    << "      <driver name='qemu' type='raw'/>\n"
    << "      <source file='" << core::xml_escape(path) << "'/>\n"
    << "      <target dev='" << core::xml_escape(target) << "' bus='ide'/>\n"
    << "      <readonly/>\n"
    << "    </disk>\n";
}

void render_os(std::ostringstream& x, const DomainSpec& s) {
  const auto arch = s.os && !s.os->arch.empty() ? s.os->arch : std::string("x86_64");
  x << "  <os>\n    <type arch='" << core::xml_escape(arch) << "' machine='"
    << core::xml_escape(s.machine) << "'>hvm</type>\n";
  if (s.os && !s.os->kernel.empty()) {
    x << "    <kernel>" << core::xml_escape(s.os->kernel) << "</kernel>\n";
    if (!s.os->initrd.empty())
      x << "    <initrd>" << core::xml_escape(s.os->initrd) << "</initrd>\n";
    const auto c = kernel_cmdline(*s.os);
    if (!c.empty()) x << "    <cmdline>" << core::xml_escape(c) << "</cmdline>\n";
  } else {
    x << "    <boot dev='hd'/>\n";
  }
  if (s.ec2_smbios) x << "    <smbios mode='sysinfo'/>\n";
  x << "  </os>\n";
}

void render_sysinfo(std::ostringstream& x, const DomainSpec& s) {
  // cloud-init's ds-identify and EC2 tooling read "ec2" from the system UUID/serial.
  x << "  <sysinfo type='smbios'>\n    <system>\n"
    << "      <entry name='manufacturer'>Amazon EC2</entry>\n"
    << "      <entry name='serial'>" << s.uuid << "</entry>\n"
    << "      <entry name='uuid'>" << s.uuid << "</entry>\n"
    << "    </system>\n  </sysinfo>\n";
}

void render_disk(std::ostringstream& x, const DiskPlan& d) {
  x << "    <disk type='file' device='disk'>\n"
    << "      <driver name='qemu' type='" << core::xml_escape(d.format) << "'/>\n"
    << "      <source file='" << core::xml_escape(d.path) << "'/>\n"
    << "      <target dev='" << core::xml_escape(d.target) << "' bus='virtio'/>\n";
  if (d.readonly) x << "      <readonly/>\n";
  x << "    </disk>\n";
}

void render_nic(std::ostringstream& x, const NicPlan& n, const std::string& nwfilter) {
  x << "    <interface type='network'>\n"
    << "      <mac address='" << n.mac.to_string() << "'/>\n"
    << "      <source network='" << core::xml_escape(n.network) << "'/>\n"
    << "      <model type='" << core::xml_escape(n.model) << "'/>\n";
  if (!nwfilter.empty()) {
    x << "      <filterref filter='" << core::xml_escape(nwfilter) << "'>\n"
      << "        <parameter name='IP' value='" << n.ip.to_string() << "'/>\n"
      << "      </filterref>\n";
  }
  x << "    </interface>\n";
}

}  // namespace

std::string kernel_cmdline(const OsSpec& os) {
  if (os.root.empty() || has_root_arg(os.kernel_cmd)) return os.kernel_cmd;
  const auto root = "root=" + (os.root.front() == '/' ? os.root : "/dev/" + os.root);
  return os.kernel_cmd.empty() ? root : root + " " + os.kernel_cmd;
}

std::string render_domain_xml(const DomainSpec& s) {
  std::ostringstream x;
  x << "<domain type='" << core::xml_escape(s.type) << "'>\n"
    << "  <name>" << core::xml_escape(s.name) << "</name>\n"
    << "  <uuid>" << s.uuid << "</uuid>\n";
  if (!s.metadata_element.empty())
    x << "  <metadata>\n    " << s.metadata_element << "\n  </metadata>\n";
  x << "  <memory unit='MiB'>" << s.memory_mib << "</memory>\n"
    << "  <vcpu>" << s.vcpu << "</vcpu>\n";
  if (s.ec2_smbios) render_sysinfo(x, s);
  render_os(x, s);
  x << "  <features>\n    <acpi/>\n  </features>\n  <devices>\n";
  for (const auto& d : s.disks) render_disk(x, d);
  if (!s.cdrom_path.empty()) render_cdrom(x, s.cdrom_path, s.cdrom_target);
  if (!s.cidata_path.empty()) render_cdrom(x, s.cidata_path, "hdb");
  for (const auto& n : s.nics) render_nic(x, n, s.nwfilter);
  // A pty keeps `vm console` working; <log> copies everything the guest prints to a file.
  x << "    <serial type='pty'>\n";
  if (!s.console_log.empty())
    x << "      <log file='" << core::xml_escape(s.console_log) << "' append='on'/>\n";
  x << "      <target port='0'/>\n    </serial>\n"
    << "    <console type='pty'>\n      <target type='serial' port='0'/>\n    </console>\n"
    << "  </devices>\n</domain>\n";
  return x.str();
}

}  // namespace cloudtwin::host
