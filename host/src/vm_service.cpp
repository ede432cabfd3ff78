#include "cloudtwin/host/vm_service.hpp"

#include "cloudtwin/record/element.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/host/inventory.hpp"
#include "cloudtwin/host/nocloud.hpp"
#include "undo.hpp"

namespace cloudtwin::host {
bool use_overlay_pool(const std::string& setting, const std::string& uri) {
  if (setting == "pool") return true;
  if (setting == "qemu-img") return false;
  if (setting == "auto") return uri.rfind("test:", 0) != 0;
  throw Error(ErrorCode::InvalidArgument,
              "[storage] overlays = " + setting + ": use auto, pool or qemu-img");
}

namespace {

class SystemClock : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

VmService::VmService(Hypervisor& hv, IsoWriter& iso, Storage& storage, Random& random,
                     HostSettings settings, VpnIssuer* vpn, const Clock* clock)
    : hv_(hv),
      iso_(iso),
      storage_(storage),
      random_(random),
      settings_(std::move(settings)),
      vpn_(vpn),
      clock_(clock ? *clock : system_clock()) {}

std::vector<record::Instance> records_of(const std::vector<DomainInfo>& domains) {
  std::vector<record::Instance> out;
  for (const auto& d : domains) {
    if (!d.record_element) continue;
    try {
      out.push_back(record::instance_from_element(*d.record_element, "domain '" + d.name + "'"));
    } catch (const Error&) {  // a damaged record must not block other VMs
    }
  }
  return out;
}

VmPlan VmService::create(const VmTemplate& tmpl, const std::string& name,
                         const std::string& user_ssh_key, const std::string& placement) {
  auto lock = storage_.lock(settings_.instances_dir + "/.lock");
  PlanInputs in;
  in.name = name;
  in.mac_prefix = settings_.mac_prefix;
  in.images_dir = settings_.images_dir;
  in.instances_dir = settings_.instances_dir;
  in.domain_type = settings_.domain_type;
  in.nwfilter = settings_.nwfilter;
  in.flat_overlays = settings_.overlay_pool;
  in.user_ssh_key = user_ssh_key;
  in.instance_id = generate_instance_id(random_);
  in.uuid = generate_uuid(random_, tmpl.ec2.has_value());
  in.created_at = record::iso8601_utc(clock_.now());
  in.host_location = settings_.uri;
  in.placement = placement;
  for (const auto& n : hv_.list_networks()) {
    try {
      auto spec = parse_network_xml(n.xml);
      for (const auto& h : spec.hosts) in.in_use[spec.name].insert(h.ip);
      in.networks[spec.name] = std::move(spec);
    } catch (const Error&) {  // not a cloudtwin network: unusable for NICs
    }
  }
  const auto domains = hv_.list_domains();
  for (const auto& r : records_of(domains)) {
    for (const auto& n : r.nics()) in.in_use[n.network].insert(n.ip);
  }
  auto plan = plan_vm(tmpl, in);
  for (const auto& d : domains) {
    if (d.name == plan.name) {
      throw Error(ErrorCode::InvalidArgument,
                  "a VM named '" + plan.name + "' already exists; choose another --name");
    }
  }

  if (plan.vpn && (vpn_ == nullptr || !vpn_->initialised())) {
    throw Error(ErrorCode::NotFound,
                "the template asks for VPN = YES but the VPN in " +
                    (vpn_ == nullptr ? settings_.vpn_state_dir : vpn_->state_dir()) +
                    " is not initialised; run `cloudtwin vpn init` first (or set [vpn] state_dir "
                    "in host.conf)");
  }

  Undo undo;
  if (plan.vpn) {
    // The overlay address is the LAN lease, so the VM keeps it when it runs remotely.
    const auto profile = vpn_->issue(plan.instance_id, plan.nics.front().ip.to_string());
    undo.push([this, id = plan.instance_id] { vpn_->revoke(id); });
    plan.context["VPN_PROFILE_BASE64"] = core::base64_encode(profile);
  }
  storage_.create_dir(plan.instance_dir);
  undo.push([this, dir = plan.instance_dir] { storage_.remove_dir(dir); });
  if (!plan.iso_path.empty())
    undo.push([this, path = plan.iso_path] { storage_.remove_file(path); });
  if (!plan.cidata_path.empty())
    undo.push([this, path = plan.cidata_path] { storage_.remove_file(path); });
  write_cds(plan);
  for (const auto& d : plan.disks) {
    if (!d.overlay) continue;
    undo.push([this, path = d.path] { storage_.remove_overlay(path); });
    storage_.create_overlay(d.base, d.path);
  }
  for (const auto& n : plan.nics) {
    if (!in.networks.at(n.network).dhcp()) continue;  // bridge mode: no dnsmasq to tell
    const auto host = render_dhcp_host_xml({n.mac, n.ip, plan.name});
    hv_.add_dhcp_host(n.network, host);
    undo.push([this, net = n.network, host] { hv_.remove_dhcp_host(net, host); });
  }
  hv_.define_domain(plan.domain_xml);
  undo.push([this, vm = plan.name] { hv_.undefine_domain(vm); });
  hv_.start_domain(plan.name);
  undo.commit();
  return plan;
}

void VmService::write_cds(const VmPlan& plan) {
  std::vector<IsoWriter::File> files{{"context.sh", core::serialize_context_sh(plan.context), ""}};
  for (const auto& [cd_name, host_path] : plan.iso_files) files.push_back({cd_name, "", host_path});
  if (!plan.iso_path.empty()) iso_.write(plan.iso_path, "CONTEXT", files);
  if (plan.cidata_path.empty()) return;
  const auto seed = render_nocloud(plan);
  std::vector<IsoWriter::File> cidata{{"meta-data", seed.meta_data, ""},
                                      {"user-data", seed.user_data, ""}};
  if (!seed.network_config.empty()) cidata.push_back({"network-config", seed.network_config, ""});
  iso_.write(plan.cidata_path, "cidata", cidata);
}

void VmService::release_record_files(const record::Instance& r,
                                     std::vector<std::string>& warnings) {
  const auto attempt = [&warnings](const std::function<void()>& step) {
    try {
      step();
    } catch (const Error& e) {
      warnings.emplace_back(e.what());
    }
  };
  const auto& h = r.host;
  const auto dir = settings_.instances_dir + "/" + h.name;
  if (!h.context_iso.empty()) attempt([&] { storage_.remove_file(h.context_iso); });
  if (!h.cidata_iso.empty()) attempt([&] { storage_.remove_file(h.cidata_iso); });
  for (const auto& o : h.overlays) attempt([&] { storage_.remove_overlay(o); });
  if (h.console_log_owned) {
    attempt([&] {  // virtlogd rotates the log into console.log.0, .1, ...
      for (const auto& f : storage_.list_files(dir)) {
        if (f.rfind("console.log", 0) == 0) storage_.remove_file(dir + "/" + f);
      }
    });
  }
  attempt([&] { storage_.remove_dir(dir); });
  if (!h.vpn) return;
  if (vpn_ == nullptr) {
    warnings.push_back("VM had a VPN profile; revoke it with `cloudtwin vpn revoke " +
                       r.instance_id + "`");
    return;
  }
  attempt([&] { vpn_->revoke(r.instance_id); });
}

std::vector<std::string> VmService::remove(const std::string& name) {
  auto lock = storage_.lock(settings_.instances_dir + "/.lock");
  const auto vm = show(name);
  std::vector<std::string> warnings;
  const auto attempt = [&warnings](const std::function<void()>& step) {
    try {
      step();
    } catch (const Error& e) {
      warnings.emplace_back(e.what());
    }
  };
  if (vm.running()) hv_.destroy_domain(name);
  if (vm.record) {
    std::set<std::string> without_dhcp;  // bridge-mode networks
    for (const auto& n : hv_.list_networks()) {
      try {
        if (!parse_network_xml(n.xml).dhcp()) without_dhcp.insert(n.name);
      } catch (const Error&) {  // not ours: a reservation there is an error worth a warning
      }
    }
    for (const auto& n : vm.record->nics()) {
      if (without_dhcp.count(n.network) != 0) continue;
      attempt([&] { hv_.remove_dhcp_host(n.network, render_dhcp_host_xml({n.mac, n.ip, name})); });
    }
  }
  hv_.undefine_domain(name);
  if (vm.record) release_record_files(*vm.record, warnings);
  return warnings;
}

bool VmService::start(const std::string& name) {
  if (show(name).running()) return false;
  hv_.start_domain(name);
  return true;
}

bool VmService::stop(const std::string& name, bool force) {
  if (!show(name).running()) return false;
  if (force)
    hv_.destroy_domain(name);
  else
    hv_.shutdown_domain(name);
  return true;
}

void VmService::reboot(const std::string& name) {
  if (!show(name).running())
    throw Error(ErrorCode::InvalidArgument, "VM '" + name + "' is not running; use vm start");
  hv_.reboot_domain(name);
}

std::unique_ptr<ConsoleStream> VmService::console(const std::string& name, bool force) {
  if (!show(name).running())
    throw Error(ErrorCode::InvalidArgument, "VM '" + name + "' is not running; use vm start");
  return hv_.open_console(name, force);
}

std::vector<VmSummary> VmService::list() { return summaries_of(hv_.list_domains()); }

VmSummary VmService::show(const std::string& name) {
  for (auto& s : list()) {
    if (s.name == name) return s;
  }
  throw Error(ErrorCode::NotFound, "no VM named '" + name + "' (see cloudtwin vm list)");
}

}  // namespace cloudtwin::host
