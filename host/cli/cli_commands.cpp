// `cloudtwin net ...` and `cloudtwin vm ...`: arguments -> services -> tables or JSON.
#include <algorithm>
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/record/json.hpp"
#include "hosts.hpp"

namespace cloudtwin::host {

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string need_one(const Args& a, const std::string& what) {
  if (a.positional.size() != 1) throw UsageError{"expected exactly one " + what};
  return a.positional[0];
}

namespace {

// What `vm create` uses on the network: its own prefix, else (a network made before the
// prefix was recorded) host.conf's.
core::MacPrefix mac_prefix_of(const NetworkSpec& n, const core::MacPrefix& host_conf) {
  return n.mac_prefix.value_or(host_conf);
}

std::string net_json(const NetworkSummary& n, const core::MacPrefix& host_conf) {
  record::Json reservations = record::Json::array();
  for (const auto& h : n.spec.hosts) {
    reservations.push_back(
        {{"mac", h.mac.to_string()}, {"ip", h.ip.to_string()}, {"name", h.name}});
  }
  return record::dump({{"name", n.spec.name},
                       {"active", n.active},
                       {"mode", to_string(n.spec.mode)},
                       {"dhcp", n.spec.dhcp()},
                       {"cidr", n.spec.cidr.to_string()},
                       {"gateway", n.spec.gateway.to_string()},
                       {"bridge", n.spec.bridge},
                       {"mac-prefix", mac_prefix_of(n.spec, host_conf).to_string()},
                       {"dns", n.spec.dns},
                       {"vms", n.vm_count},
                       {"reservations", std::move(reservations)}});
}

std::string vm_json(const VmSummary& v) {
  return record::dump({{"name", v.name},
                       {"state", to_string(v.state)},
                       {"record", v.record ? record::instance_to_value(*v.record) : nullptr}});
}

std::string ips_of(const VmSummary& v) {
  std::string s;
  if (!v.record) return "-";
  const auto& r = *v.record;
  for (const auto& n : r.nics()) s += (s.empty() ? "" : ",") + n.ip.to_string() + "@" + n.network;
  if (r.host.kind == "ec2") {  // EC2's NICs are not the host's: private and public
    if (!r.local_ipv4.empty()) s += (s.empty() ? "" : ",") + r.local_ipv4 + " (private)";
    if (!r.public_ipv4.empty()) {
      s += (s.empty() ? "" : ",") + r.public_ipv4 +
           (r.host.elastic_ip_allocation.empty() ? " (public)" : " (EIP)");
    }
  }
  return s.empty() ? "-" : s;
}

// "local" for this machine's libvirt, else where the host record says: ec2:REGION/i-...
std::string location_of(const VmSummary& v) {
  if (!v.record) return "local";
  const auto& h = v.record->host;
  if (h.kind == "ec2") return h.location + (h.provider_id.empty() ? "" : "/" + h.provider_id);
  return h.location.empty() ? "local" : h.location;
}

// Bridge mode: which metadata addresses are on the bridge, and whose they are.
std::string metadata_addresses_text(const NetworkSummary& n) {
  std::string out;
  for (const auto& a : metadata_link_addresses()) {
    const auto& owned = n.spec.owned_addresses;
    const bool ours = std::find(owned.begin(), owned.end(), a) != owned.end();
    std::string state = ours ? "added by cloudtwin" : "was already there";
    if (n.addresses_on_bridge) {
      const auto& on = *n.addresses_on_bridge;
      if (std::find(on.begin(), on.end(), a) == on.end())
        state = "MISSING from the bridge: cloudtwin net repair " + n.spec.name;
    }
    out += (out.empty() ? "" : ", ") + a.to_string() + " (" + state + ")";
  }
  return out;
}

void print_net(std::ostream& out, const NetworkSummary& n, const core::MacPrefix& host_conf) {
  std::string dns;
  for (const auto& d : n.spec.dns) dns += (dns.empty() ? "" : ",") + d;
  const bool bridged = n.spec.mode == NetworkMode::Bridge;
  std::vector<std::vector<std::string>> rows = {
      {"name:", n.spec.name},
      {"state:", n.active ? "active" : "inactive"},
      {"mode:", to_string(n.spec.mode)},
      {"cidr:", n.spec.cidr.to_string()},
      {"gateway:", n.spec.gateway.to_string()},
      {"bridge:", n.spec.bridge + (bridged ? " (existing host bridge)" : "")},
      {bridged ? "dns servers:" : "dns forwarders:", dns.empty() ? "-" : dns},
      {"mac prefix:", n.spec.mac_prefix ? n.spec.mac_prefix->to_string()
                                        : host_conf.to_string() + " (host.conf's: the network "
                                                                  "records none)"},
      {"vms:", std::to_string(n.vm_count)}};
  if (bridged) {
    const auto prefix = mac_prefix_of(n.spec, host_conf).to_string();
    rows.push_back({"dhcp:",
                    "none (bridge mode runs no dnsmasq, so no reservations): VMs take "
                    "their address from the context CD (ETHx_IP) or their MAC (" +
                        prefix + " + IPv4 bytes)"});
    rows.push_back({"metadata on bridge:", metadata_addresses_text(n)});
  }
  print_table(out, rows);
  for (const auto& h : n.spec.hosts) {
    out << "reservation:     " << h.ip.to_string() << " " << h.mac.to_string() << " " << h.name
        << "\n";
  }
}

void print_vm(std::ostream& out, const VmSummary& v) {
  std::vector<std::vector<std::string>> rows = {{"name:", v.name},
                                                {"state:", std::string(to_string(v.state))}};
  if (v.record) {
    const auto& r = *v.record;
    const auto& e = r;
    const auto& h = r.host;
    rows.push_back({"instance id:", e.instance_id});
    rows.push_back({"location:", location_of(v)});
    if (!h.placement.empty()) rows.push_back({"placed:", h.placement});
    if (h.kind == "ec2") {
      rows.push_back({"ec2 instance:", h.provider_id.empty() ? "(being created)" : h.provider_id});
      if (!e.local_ipv4.empty()) rows.push_back({"private ip:", e.local_ipv4});
      if (!e.public_ipv4.empty()) rows.push_back({"public ip:", e.public_ipv4});
      if (!h.elastic_ip_allocation.empty()) {
        rows.push_back({"elastic ip:", h.elastic_ip_allocation +
                                           (h.elastic_ip_owned ? " (allocated for it)" : "")});
      }
      if (!h.security_group.empty()) rows.push_back({"security group:", h.security_group});
    }
    rows.push_back({"hostname:", e.local_hostname});
    if (!e.ami_id.empty()) rows.push_back({"ami id:", e.ami_id});
    if (!e.instance_type.empty()) rows.push_back({"instance type:", e.instance_type});
    for (const auto& n : r.nics()) {
      rows.push_back({"eth" + std::to_string(n.device_number) + ":",
                      n.ip.to_string() + "/" + std::to_string(n.subnet.prefix_length) + " " +
                          n.mac.to_string() + " network " + n.network + " gateway " +
                          n.gateway.to_string()});
    }
    for (const auto& k : e.public_keys)
      rows.push_back({"key " + k.name + ":", k.openssh_key.substr(0, 40)});
    if (h.kind != "ec2")
      rows.push_back({"context cd:", h.context_iso.empty() ? "(none)" : h.context_iso});
    if (!h.cidata_iso.empty()) rows.push_back({"nocloud cd:", h.cidata_iso});
    if (!h.console_log.empty()) rows.push_back({"console log:", h.console_log});
    if (!h.images.empty()) {
      std::string images;
      for (const auto& i : h.images) images += (images.empty() ? "" : ",") + i;
      rows.push_back({"images:", images});
    }
    if (h.vpn) rows.push_back({"vpn:", "profile issued (CN " + e.instance_id + ")"});
  } else {
    rows.push_back({"note:", "not created by cloudtwin (no instance record)"});
  }
  print_table(out, rows);
}

}  // namespace

// Bridge mode changes addresses on this machine's bridge, so libvirt must run here too.
bool local_uri(const std::string& uri) {
  const auto scheme_end = uri.find("://");
  return scheme_end != std::string::npos && uri.compare(scheme_end + 3, 1, "/") == 0 &&
         uri.find('+') == std::string::npos;
}

int run_net(const std::string& verb, const Args& a, CliContext& ctx) {
  auto hv = ctx.env.connect(ctx.uri);
  auto links = ctx.env.link_addresses ? ctx.env.link_addresses() : nullptr;
  NetService nets(*hv, links.get());
  const auto& host_prefix = ctx.config.settings.mac_prefix;
  if (verb == "create") {
    const auto name = need_one(a, "network NAME");
    if (a.option("--cidr").empty()) throw UsageError{"net create needs --cidr A.B.C.D/N"};
    auto spec = make_network_spec(name, a.option("--cidr"), a.option("--gateway"),
                                  a.option("--dns"), a.option("--mode"), a.option("--mac-prefix"));
    // Recorded with the network, so a later change to host.conf does not give new VMs on it
    // MACs of another prefix than its existing VMs and reservations.
    if (!spec.mac_prefix) spec.mac_prefix = ctx.config.settings.mac_prefix;
    if (spec.mode == NetworkMode::Bridge) {
      if (!local_uri(ctx.uri)) {
        throw Error(ErrorCode::InvalidArgument, "--mode bridge:" + spec.bridge +
                                                    " puts addresses on a bridge of this "
                                                    "machine, but libvirt at '" +
                                                    ctx.uri +
                                                    "' is not local; run cloudtwin on "
                                                    "that host");
      }
    }
    nets.create(spec);
    if (a.json())
      ctx.out << net_json(nets.show(name), host_prefix) << "\n";
    else
      ctx.out << "created network " << name << "\n";
  } else if (verb == "list") {
    if (!a.positional.empty()) throw UsageError{"net list takes no arguments"};
    const auto list = nets.list();
    if (a.json()) {
      ctx.out << "[";
      for (std::size_t i = 0; i < list.size(); ++i)
        ctx.out << (i ? "," : "") << net_json(list[i], host_prefix);
      ctx.out << "]\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "STATE", "CIDR", "GATEWAY", "BRIDGE", "VMS"}};
    for (const auto& n : list) {
      rows.push_back({n.spec.name, n.active ? "active" : "inactive", n.spec.cidr.to_string(),
                      n.spec.gateway.to_string(), n.spec.bridge, std::to_string(n.vm_count)});
    }
    print_table(ctx.out, rows);
  } else if (verb == "show") {
    const auto n = nets.show(need_one(a, "network NAME"));
    if (a.json())
      ctx.out << net_json(n, host_prefix) << "\n";
    else
      print_net(ctx.out, n, host_prefix);
  } else if (verb == "delete") {
    const auto name = need_one(a, "network NAME");
    nets.remove(name);
    if (!a.json()) ctx.out << "deleted network " << name << "\n";
  } else if (verb == "repair") {
    const auto name = need_one(a, "network NAME");
    const auto done = nets.repair(name);
    if (done.empty()) ctx.out << "network " << name << ": nothing to repair\n";
    for (const auto& line : done) ctx.out << "network " << name << ": " << line << "\n";
  } else {
    throw UsageError{"unknown net subcommand '" + verb + "'"};
  }
  return 0;
}

int run_vm(const std::string& verb, const Args& a, CliContext& ctx) {
  Hosts hosts(ctx);
  if (verb == "create") {
    const auto path = need_one(a, "TEMPLATE file");
    const auto text = ctx.env.read_file(path);
    if (!text) throw Error(ErrorCode::NotFound, "template " + path + " does not exist");
    std::string key;
    if (!a.option("--ssh-key").empty()) {
      const auto k = ctx.env.read_file(a.option("--ssh-key"));
      if (!k)
        throw Error(ErrorCode::NotFound, "--ssh-key " + a.option("--ssh-key") + " does not exist");
      key = *k;
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    }
    const auto tmpl = parse_vm_template_auto(*text, path);
    auto [host, placement] = hosts.for_create(tmpl, a.option("--name"), a.option("--on"));
    // Said before the create, which may take minutes on EC2.
    if (!a.json() && hosts.all().size() > 1)
      ctx.out << "placing on " << host->name() << ": " << placement.reason << "\n";
    const auto vm = hosts.create(*host, tmpl, {a.option("--name"), key, placement.reason});
    if (a.json()) {
      ctx.out << vm_json(vm) << "\n";
    } else {
      ctx.out << "created VM " << vm.name << " (" << vm.record->instance_id << ")";
      for (const auto& n : vm.record->nics())
        ctx.out << " " << n.ip.to_string() << "@" << n.network;
      if (!vm.record->host.provider_id.empty())
        ctx.out << " " << vm.record->host.provider_id << "@" << vm.record->host.location;
      if (!vm.record->public_ipv4.empty()) ctx.out << " public " << vm.record->public_ipv4;
      ctx.out << "\n";
    }
  } else if (verb == "list") {
    if (!a.positional.empty()) throw UsageError{"vm list takes no arguments"};
    const auto list = hosts.list();
    for (const auto& h : hosts.unreachable())
      ctx.err << "cloudtwin: warning: host " << h << " does not answer: its VMs are unknown\n";
    if (a.json()) {
      ctx.out << "[";
      for (std::size_t i = 0; i < list.size(); ++i) ctx.out << (i ? "," : "") << vm_json(list[i]);
      ctx.out << "]\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "STATE", "LOCATION", "INSTANCE-ID", "ADDRESSES"}};
    for (const auto& v : list) {
      const auto on = hosts.host_of(v.name);
      rows.push_back({v.name, std::string(to_string(v.state)), on.empty() ? location_of(v) : on,
                      v.record ? v.record->instance_id : "-", ips_of(v)});
    }
    print_table(ctx.out, rows);
  } else if (verb == "show") {
    const auto name = need_one(a, "VM NAME");
    const auto v = hosts.holding(name).show(name);
    if (a.json())
      ctx.out << vm_json(v) << "\n";
    else
      print_vm(ctx.out, v);
  } else if (verb == "delete") {
    const auto name = need_one(a, "VM NAME");
    for (const auto& w : hosts.remove(name)) ctx.err << "cloudtwin: warning: " << w << "\n";
    if (!a.json()) ctx.out << "deleted VM " << name << "\n";
  } else {
    throw UsageError{"unknown vm subcommand '" + verb + "'"};
  }
  return 0;
}

}  // namespace cloudtwin::host
