// host.conf (INI): the keys `cloudtwin` reads; every other part keeps its defaults.
#include "cloudtwin/host/host_conf.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {
namespace {

template <typename Fail>
std::uint64_t positive(const std::string& key, const std::string& value, std::uint64_t max,
                       const Fail& fail) {
  std::uint64_t n = 0;
  const auto* end = value.data() + value.size();
  const auto r = std::from_chars(value.data(), end, n);
  if (r.ec != std::errc() || r.ptr != end || n == 0 || n > max)
    fail("[capacity] " + key + " = " + value + ": use a whole number from 1 to " +
         std::to_string(max) + ", or leave it out for the machine's total");
  return n;
}

}  // namespace

HostConfig parse_host_conf(std::string_view text, std::string_view source) {
  HostConfig c;
  for (const auto& entry : core::parse_ini(text, std::string(source))) {
    const auto fail = [&](const std::string& what) {
      throw ParseError(ErrorCode::InvalidArgument, std::string(source), entry.line, 1, what);
    };
    const auto& key = entry.key;
    const auto& value = entry.value;
    c.sections.insert(key.substr(0, key.find('.')));
    if (key == "libvirt.uri")
      c.uri = value;
    else if (key == "inventory.path")
      c.inventory = value;
    else if (key == "libvirt.domain_type")
      c.settings.domain_type = value;
    else if (key == "storage.images")
      c.settings.images_dir = value;
    else if (key == "storage.instances")
      c.settings.instances_dir = value;
    else if (key == "storage.overlays") {
      if (value != "auto" && value != "pool" && value != "qemu-img")
        fail("[storage] overlays = " + value + ": use auto, pool or qemu-img");
      c.overlays = value;
    } else if (key == "vpn.state_dir")
      c.settings.vpn_state_dir = value;
    else if (key == "network.nwfilter")
      c.settings.nwfilter = value == "none" ? "" : value;
    else if (key == "capacity.vcpu")
      c.capacity.vcpu = static_cast<unsigned>(positive("vcpu", value, 4096, fail));
    else if (key == "capacity.memory_mib")
      c.capacity.memory_mib = positive("memory_mib", value, std::uint64_t{1} << 40U, fail);
    else if (key == "ec2.region")
      c.ec2.region = value;
    else if (key == "ec2.endpoint")
      c.ec2.endpoint = value;
    else if (key == "ec2.profile")
      c.ec2.profile = value;
    else if (key == "ec2.default_instance_type")
      c.ec2.instance_type = value;
    else if (key == "ec2.max_instances") {
      try {
        c.ec2.max_instances = parse_max_instances(value);
      } catch (const Error& e) {
        fail(e.what());
      }
    } else if (key == "network.mac_prefix") {
      try {
        c.settings.mac_prefix = core::MacPrefix::parse(value);
      } catch (const Error& e) {
        fail("[network] mac_prefix: " + std::string(e.what()));
      }
    }
  }
  return c;
}

std::string set_ini_values(std::string_view text, const std::string& section,
                           const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<std::pair<std::string, std::string>> pending = values;
  std::string out;
  std::string current;
  bool seen = false;
  const auto flush = [&] {
    if (current != section) return;
    for (const auto& [k, v] : pending) out += k + " = " + v + "\n";
    pending.clear();
  };
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(start, end - start);
    const auto t = core::trim(line);
    if (t.size() > 1 && t.front() == '[' && t.back() == ']') {
      flush();
      current = std::string(core::trim(t.substr(1, t.size() - 2)));
      seen = seen || current == section;
    } else if (current == section && !t.empty() && t.front() != '#' && t.front() != ';') {
      const auto key = core::trim(t.substr(0, t.find('=')));
      const auto it = std::find_if(pending.begin(), pending.end(),
                                   [&](const auto& kv) { return kv.first == key; });
      if (it != pending.end()) {
        out += it->first + " = " + it->second + "\n";
        pending.erase(it);
        start = end + 1;
        continue;
      }
    }
    out += std::string(line) + "\n";
    start = end + 1;
  }
  flush();
  if (!seen) {
    if (!out.empty() && out.back() == '\n' && out.size() > 1 && out[out.size() - 2] != '\n')
      out += "\n";
    out += "[" + section + "]\n";
    for (const auto& [k, v] : pending) out += k + " = " + v + "\n";
  }
  return out;
}

}  // namespace cloudtwin::host
