// NoCloud seed (meta-data, user-data, network-config v2) from a planned VM. YAML is
// written with JSON-style double-quoted scalars, which YAML reads the same way.
#include "cloudtwin/host/nocloud.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/host/vm_plan.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::host {
namespace {

std::string network_config(const VmPlan& plan) {
  std::string y = "version: 2\nethernets:\n";
  for (const auto& n : plan.nics) {
    y += "  eth" + std::to_string(n.index) + ":\n";
    y += "    match:\n      macaddress: " + record::json_quote(n.mac.to_string()) + "\n";
    y += "    addresses:\n      - " +
         record::json_quote(n.ip.to_string() + "/" + std::to_string(n.cidr.prefix_length)) + "\n";
    // One default route, through the first NIC, as OpenNebula's context does.
    if (n.index == 0) {
      y += "    routes:\n      - to: \"0.0.0.0/0\"\n        via: " +
           record::json_quote(n.gateway.to_string()) + "\n";
    }
    if (!n.dns.empty()) {
      y += "    nameservers:\n      addresses:\n";
      for (const auto& d : n.dns) y += "        - " + record::json_quote(d) + "\n";
    }
  }
  return y;
}

}  // namespace

NoCloudSeed render_nocloud(const VmPlan& plan) {
  NoCloudSeed seed;
  const auto& r = plan.record;
  seed.meta_data = "instance-id: " + record::json_quote(r.instance_id) +
                   "\nlocal-hostname: " + record::json_quote(r.local_hostname) + "\n";
  if (!r.public_keys.empty()) {
    seed.meta_data += "public-keys:\n";
    for (const auto& k : r.public_keys)
      seed.meta_data += "  - " + record::json_quote(k.openssh_key) + "\n";
  }
  seed.user_data = r.user_data.value_or("#cloud-config\n");
  const auto net = plan.context.find("NETWORK");
  if (net != plan.context.end() && net->second == "YES" && !plan.nics.empty())
    seed.network_config = network_config(plan);
  return seed;
}

}  // namespace cloudtwin::host
