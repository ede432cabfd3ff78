#include "cloudtwin/host/vm_plan.hpp"

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/names.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/host/domain_xml.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/substitute.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::host {
void check_vm_name(const std::string& name) {
  if (!core::is_plain_name(name, 63)) {
    throw Error(
        ErrorCode::InvalidArgument,
        "VM name '" + name +
            "' must be 1-63 letters, digits, '-', '_' or '.', not starting with '.' or '-'");
  }
}

namespace {

std::string basename(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<NicPlan> plan_nics(const VmTemplate& t, const PlanInputs& in) {
  std::vector<NicPlan> nics;
  auto in_use = in.in_use;  // grows as this VM takes addresses
  for (std::size_t i = 0; i < t.nics.size(); ++i) {
    const auto& spec = t.nics[i];
    const auto net = in.networks.find(spec.network);
    if (net == in.networks.end()) {
      throw Error(ErrorCode::NotFound, "NIC " + std::to_string(i) + ": network '" + spec.network +
                                           "' does not exist (see cloudtwin net list)");
    }
    const auto& n = net->second;
    auto& used = in_use[spec.network];
    NicPlan p;
    p.index = static_cast<int>(i);
    p.network = n.name;
    p.bridge = n.bridge;
    p.cidr = n.cidr;
    p.gateway = n.gateway;
    // nat/isolated: dnsmasq on the bridge answers and forwards. bridge: no dnsmasq; the LAN's
    // servers, else its router.
    p.dns = n.mode == NetworkMode::Bridge && !n.dns.empty() ? n.dns
                                                            : std::vector{n.gateway.to_string()};
    if (!spec.model.empty()) p.model = spec.model;
    if (spec.ip) {
      check_requested_address(n.cidr, n.gateway, used, *spec.ip, n.name);
      p.ip = *spec.ip;
    } else {
      p.ip = lease_address(n.cidr, n.gateway, used, n.name);
    }
    used.insert(p.ip);
    p.mac = core::mac_from_ipv4(p.ip, n.mac_prefix.value_or(in.mac_prefix));
    nics.push_back(std::move(p));
  }
  return nics;
}

std::vector<DiskPlan> plan_disks(const VmTemplate& t, const PlanInputs& in, const std::string& name,
                                 const std::string& dir) {
  std::vector<DiskPlan> disks;
  for (std::size_t i = 0; i < t.disks.size(); ++i) {
    const auto& spec = t.disks[i];
    DiskPlan d;
    d.target =
        spec.target.empty() ? std::string("vd") + static_cast<char>('a' + i % 26) : spec.target;
    d.readonly = spec.readonly;
    if (!spec.image.empty()) {
      if (spec.image.find('/') != std::string::npos || spec.image.front() == '.') {
        throw Error(ErrorCode::InvalidArgument,
                    "DISK/IMAGE '" + spec.image +
                        "' must be an image name, not a path (use SOURCE for paths)");
      }
      d.base = in.images_dir + "/" + spec.image;
      d.overlay = !spec.readonly;
      const auto file = "disk" + std::to_string(i) + ".qcow2";
      d.path = !d.overlay         ? d.base
               : in.flat_overlays ? in.instances_dir + "/" + name + "-" + file
                                  : dir + "/" + file;
    } else {
      d.path = spec.source;
    }
    const auto ext = d.path.size() > 6 ? d.path.substr(d.path.size() - 6) : std::string();
    d.format = d.overlay || ext == ".qcow2" ? "qcow2" : "raw";
    disks.push_back(std::move(d));
  }
  return disks;
}

SubstitutionScope scope_for(const VmPlan& plan, const PlanInputs& in) {
  SubstitutionScope s;
  s.singles = {{"NAME", plan.name}, {"VMID", plan.instance_id}, {"UNAME", in.uname}};
  for (const auto& n : plan.nics) {
    s.vectors["NIC"].push_back({{"NIC_ID", std::to_string(n.index)},
                                {"IP", n.ip.to_string()},
                                {"MAC", n.mac.to_string()},
                                {"NETWORK", n.network},
                                {"BRIDGE", n.bridge},
                                {"GATEWAY", n.gateway.to_string()},
                                {"DNS", n.dns.empty() ? "" : n.dns.front()},
                                {"NETWORK_ADDRESS", n.cidr.network().to_string()},
                                {"NETWORK_MASK", n.cidr.netmask().to_string()}});
  }
  s.vectors["USER"].push_back({{"SSH_PUBLIC_KEY", in.user_ssh_key}});
  return s;
}

// (name, openssh-key) per line of the SSH keys; named after EC2/KEYPAIR.
std::vector<record::PublicKey> public_keys(const VmTemplate& t, const std::string& keys) {
  std::vector<record::PublicKey> out;
  const auto base = t.ec2 && !t.ec2->keypair.empty() ? t.ec2->keypair : std::string("default");
  std::size_t start = 0;
  while (start < keys.size()) {
    auto end = keys.find('\n', start);
    if (end == std::string::npos) end = keys.size();
    auto line = keys.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) {
      out.push_back({out.empty() ? base : base + "-" + std::to_string(out.size()), line});
    }
    start = end + 1;
  }
  return out;
}

record::MetadataOptionsRecord metadata_options(const Ec2Spec& e) {
  record::MetadataOptionsRecord o;
  if (!e.http_tokens.empty())
    o.http_tokens =
        e.http_tokens == "required" ? record::HttpTokens::Required : record::HttpTokens::Optional;
  if (!e.http_endpoint.empty())
    o.http_endpoint = e.http_endpoint == "disabled" ? record::HttpEndpoint::Disabled
                                                    : record::HttpEndpoint::Enabled;
  if (e.http_put_response_hop_limit > 0) o.hop_limit = e.http_put_response_hop_limit;
  if (!e.instance_metadata_tags.empty())
    o.instance_metadata_tags = e.instance_metadata_tags == "enabled";
  return o;
}

// The template's CONTEXT with references substituted (FILES left out: host paths).
std::map<std::string, std::string, std::less<>> resolved_context(const VmTemplate& t,
                                                                 const VmPlan& plan,
                                                                 const PlanInputs& in) {
  const auto scope = scope_for(plan, in);
  std::map<std::string, std::string, std::less<>> user;
  for (const auto& [key, value] : t.context) {
    if (key == "FILES") continue;
    user[key] = substitute_references(value, scope, "CONTEXT/" + key);
  }
  return user;
}

// What the guest is told about itself, from the template and the inputs: the context CD
// renders it as SET_HOSTNAME / SSH_PUBLIC_KEY / USER_DATA, the record as EC2 keys.
GuestIdentity guest_identity(const std::map<std::string, std::string, std::less<>>& user,
                             const VmPlan& plan, const PlanInputs& in) {
  const auto get = [&user](const char* key) -> const std::string* {
    const auto it = user.find(key);
    return it == user.end() ? nullptr : &it->second;
  };
  GuestIdentity g;
  const auto* hostname = get("SET_HOSTNAME");
  g.hostname = hostname && !hostname->empty() ? *hostname : plan.name;
  const auto* keys = get("SSH_PUBLIC_KEY");
  g.ssh_public_keys = keys ? *keys : in.user_ssh_key;
  if (const auto* ud = get("USER_DATA"); ud && !ud->empty()) {
    const auto* enc = get("USER_DATA_ENCODING");
    g.user_data = enc && *enc == "base64" ? core::base64_decode(*ud) : *ud;
  }
  return g;
}

// The instance record: what cloudtwin-metadata serves to this VM and what the host owns.
record::Instance build_record(const VmTemplate& t, const VmPlan& p, const PlanInputs& in) {
  record::Instance i;
  i.instance_id = p.instance_id;
  i.reservation_id = "r-" + p.instance_id.substr(p.instance_id.find('-') + 1);
  i.pending_time = in.created_at;
  if (t.ec2) {
    i.ami_id = t.ec2->ami;
    i.instance_type = t.ec2->instance_type;
    i.availability_zone = t.ec2->availability_zone;
    if (i.availability_zone.size() > 1)
      i.region = i.availability_zone.substr(0, i.availability_zone.size() - 1);
    i.security_groups = t.ec2->security_groups;
    for (const auto& [key, value] : t.ec2->tags) i.tags[key] = value;
    i.options_record = metadata_options(*t.ec2);
    i.options = i.options_record.resolve({});
  }
  i.local_hostname = i.hostname = p.guest.hostname;
  for (const auto& n : p.nics) {
    record::NetworkInterface e;
    e.mac = n.mac.to_string();
    e.device_number = n.index;
    e.local_ipv4s = {n.ip.to_string()};
    e.subnet_ipv4_cidr_block =
        n.cidr.network().to_string() + "/" + std::to_string(n.cidr.prefix_length);
    i.interfaces.push_back(std::move(e));
  }
  if (!p.nics.empty()) i.local_ipv4 = p.nics.front().ip.to_string();
  if (!p.disks.empty()) {
    i.block_device_mapping["ami"] = "/dev/" + p.disks.front().target;
    i.block_device_mapping["root"] = "/dev/" + p.disks.front().target;
  }
  i.public_keys = public_keys(t, p.guest.ssh_public_keys);
  i.user_data = p.guest.user_data;

  auto& h = i.host;
  h.location = in.host_location;
  h.name = p.name;
  for (const auto& n : p.nics) h.nics.push_back({n.mac, n.network, n.gateway});
  h.context_iso = p.iso_path;
  for (const auto& d : p.disks) {
    if (d.overlay) h.overlays.push_back(d.path);
  }
  for (const auto& d : t.disks) {
    if (!d.image.empty()) h.images.push_back(d.image);
  }
  h.cidata_iso = p.cidata_path;
  h.console_log = p.console_log;
  h.console_log_owned = t.console_log == "YES";
  h.vpn = p.vpn;
  h.placement = in.placement;
  return i;
}

}  // namespace

core::ContextVars build_context_vars(const VmTemplate& t, const VmPlan& plan,
                                     const PlanInputs& in) {
  core::ContextVars v;
  const auto user = resolved_context(t, plan, in);
  const auto network = user.find("NETWORK");
  const bool with_network =
      network == user.end() || network->second == "YES" || network->second == "yes";
  if (with_network) {
    v["NETWORK"] = "YES";
    for (const auto& n : plan.nics) {
      const auto p = "ETH" + std::to_string(n.index) + "_";
      v[p + "MAC"] = n.mac.to_string();
      v[p + "IP"] = n.ip.to_string();
      v[p + "MASK"] = n.cidr.netmask().to_string();
      v[p + "NETWORK"] = n.cidr.network().to_string();
      v[p + "GATEWAY"] = n.gateway.to_string();
      std::string dns;
      for (const auto& d : n.dns) dns += (dns.empty() ? "" : " ") + d;
      v[p + "DNS"] = dns;
    }
  }
  v["SET_HOSTNAME"] = plan.name;
  v["TARGET"] = plan.cd_target;
  v["DISK_ID"] = std::to_string(plan.disks.size());
  if (!in.user_ssh_key.empty()) v["SSH_PUBLIC_KEY"] = in.user_ssh_key;
  for (const auto& [key, value] : user) v[key] = value;
  const auto ud = v.find("USER_DATA");
  if (ud != v.end()) {
    auto enc = v.find("USER_DATA_ENCODING");
    if (enc == v.end() || enc->second != "base64") {
      ud->second = core::base64_encode(ud->second);
      v["USER_DATA_ENCODING"] = "base64";
    }
  }
  for (auto it = v.begin(); it != v.end();) {
    it = it->second.empty() && it->first != "USER_DATA" ? v.erase(it) : std::next(it);
  }
  return v;
}

GuestIdentity plan_guest_identity(const VmTemplate& t, const std::string& name,
                                  const std::string& instance_id, const std::string& user_ssh_key) {
  VmPlan p;
  p.name = name;
  p.instance_id = instance_id;
  PlanInputs in;
  in.user_ssh_key = user_ssh_key;
  return guest_identity(resolved_context(t, p, in), p, in);
}

std::vector<record::PublicKey> plan_public_keys(const VmTemplate& t, const std::string& keys) {
  return public_keys(t, keys);
}

record::MetadataOptionsRecord plan_metadata_options(const Ec2Spec& e) {
  return metadata_options(e);
}

VmPlan plan_vm(const VmTemplate& t, const PlanInputs& in) {
  VmPlan p;
  p.instance_id = in.instance_id;
  p.uuid = in.uuid;
  p.name = !in.name.empty() ? in.name : !t.name.empty() ? t.name : in.instance_id;
  check_vm_name(p.name);
  p.ec2 = t.ec2.has_value();
  p.instance_dir = in.instances_dir + "/" + p.name;
  if (t.context_cd) p.iso_path = p.instance_dir + "/context.iso";
  if (t.nocloud) p.cidata_path = p.instance_dir + "/cidata.iso";
  p.console_log = t.console_log == "YES" ? p.instance_dir + "/console.log" : t.console_log;
  p.vpn = t.vpn;
  if (p.vpn && t.nics.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "VPN = YES needs a NIC: the VM's overlay address is its first NIC's lease");
  }
  p.nics = plan_nics(t, in);
  p.disks = plan_disks(t, in, p.name, p.instance_dir);
  p.context = build_context_vars(t, p, in);
  p.guest = guest_identity(resolved_context(t, p, in), p, in);
  for (const auto& [key, value] : t.context) {
    if (key != "FILES") continue;
    std::size_t start = 0;
    while (start <= value.size()) {
      auto end = value.find(' ', start);
      if (end == std::string::npos) end = value.size();
      if (end > start) {
        const auto path = value.substr(start, end - start);
        p.iso_files.emplace_back(basename(path), path);
      }
      start = end + 1;
    }
  }
  p.record = build_record(t, p, in);
  DomainSpec d;
  d.type = in.domain_type;
  d.nwfilter = in.nwfilter;
  d.name = p.name;
  d.uuid = p.uuid;
  d.memory_mib = t.memory_mib;
  d.vcpu = t.vcpu;
  d.os = t.os;
  d.disks = p.disks;
  d.cdrom_path = p.iso_path;
  d.cdrom_target = p.cd_target;
  d.cidata_path = p.cidata_path;
  d.console_log = p.console_log;
  d.nics = p.nics;
  d.ec2_smbios = p.ec2;
  d.metadata_element = record::instance_element(p.record);
  p.domain_xml = render_domain_xml(d);
  return p;
}

}  // namespace cloudtwin::host
