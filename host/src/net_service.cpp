#include "cloudtwin/host/net_service.hpp"

#include <algorithm>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "undo.hpp"

namespace cloudtwin::host {

std::vector<NetworkSpec> NetService::bridge_networks_on(const std::string& bridge,
                                                        const std::string& except) {
  std::vector<NetworkSpec> out;
  for (const auto& n : hv_.list_networks()) {
    try {
      auto spec = parse_network_xml(n.xml);
      if (spec.mode == NetworkMode::Bridge && spec.bridge == bridge && spec.name != except)
        out.push_back(std::move(spec));
    } catch (const Error&) {  // not ours
    }
  }
  return out;
}

void NetService::create(const NetworkSpec& requested) {
  for (const auto& n : hv_.list_networks()) {
    if (n.name == requested.name) {
      throw Error(ErrorCode::InvalidArgument, "network '" + requested.name + "' already exists");
    }
  }
  auto spec = requested;
  std::vector<AddressOp> ops;
  if (spec.mode == NetworkMode::Bridge) {
    if (links_ == nullptr) {
      throw Error(ErrorCode::InvalidArgument,
                  "network '" + spec.name +
                      "': bridge mode needs netlink to put the metadata "
                      "addresses on bridge '" +
                      spec.bridge + "', which this connection lacks");
    }
    std::vector<LinkAddress> owned_by_others;
    for (const auto& other : bridge_networks_on(spec.bridge, spec.name)) {
      owned_by_others.insert(owned_by_others.end(), other.owned_addresses.begin(),
                             other.owned_addresses.end());
    }
    auto plan = plan_bridge_addresses(spec.bridge, links_->observe(spec.bridge),
                                      metadata_link_addresses(), owned_by_others);
    spec.owned_addresses = std::move(plan.owned);
    ops = std::move(plan.ops);
  }
  Undo undo;
  hv_.define_network(render_network_xml(spec));
  undo.push([this, name = spec.name] { hv_.undefine_network(name); });
  hv_.start_network(spec.name);
  undo.push([this, name = spec.name] { hv_.destroy_network(name); });
  for (const auto& op : ops) {
    links_->apply(op);
    undo.push([this, op] { links_->apply({AddressOpKind::Remove, op.link, op.address}); });
  }
  undo.commit();
}

std::vector<NetworkSummary> NetService::list() {
  const auto records = records_of(hv_.list_domains());
  std::vector<NetworkSummary> out;
  for (const auto& n : hv_.list_networks()) {
    try {
      NetworkSummary s{parse_network_xml(n.xml), n.active, 0, std::nullopt};
      for (const auto& r : records) {
        for (const auto& nic : r.host.nics) {
          if (nic.network == n.name) {
            ++s.vm_count;
            break;
          }
        }
      }
      out.push_back(std::move(s));
    } catch (const Error&) {  // not ours
    }
  }
  return out;
}

NetworkSummary NetService::show(const std::string& name) {
  for (auto& s : list()) {
    if (s.spec.name != name) continue;
    if (s.spec.mode == NetworkMode::Bridge && links_ != nullptr) {
      std::vector<LinkAddress> present;
      if (const auto link = links_->observe(s.spec.bridge)) {
        for (const auto& a : metadata_link_addresses()) {
          if (std::find(link->addresses.begin(), link->addresses.end(), a) != link->addresses.end())
            present.push_back(a);
        }
      }
      s.addresses_on_bridge = std::move(present);
    }
    return s;
  }
  throw Error(ErrorCode::NotFound, "no network named '" + name + "' (see cloudtwin net list)");
}

void NetService::remove(const std::string& name) {
  const auto s = show(name);
  if (s.vm_count > 0) {
    throw Error(ErrorCode::InvalidArgument, "network '" + name + "' is used by " +
                                                std::to_string(s.vm_count) +
                                                " VM(s); delete them first");
  }
  if (s.spec.mode == NetworkMode::Bridge && !s.spec.owned_addresses.empty()) {
    if (links_ == nullptr) {
      throw Error(ErrorCode::InvalidArgument,
                  "network '" + name + "': cannot remove its metadata addresses from bridge '" +
                      s.spec.bridge + "' without netlink");
    }
    // Addresses first: if undefining fails, running delete again finds them gone.
    const auto others = bridge_networks_on(s.spec.bridge, name).size();
    for (const auto& op : plan_bridge_address_removal(links_->observe(s.spec.bridge),
                                                      s.spec.owned_addresses, others))
      links_->apply(op);
  }
  if (s.active) hv_.destroy_network(name);
  hv_.undefine_network(name);
}

std::vector<std::string> NetService::repair(const std::string& name) {
  const auto s = show(name);
  std::vector<AddressOp> ops;
  if (s.spec.mode == NetworkMode::Bridge && !s.spec.owned_addresses.empty()) {
    if (links_ == nullptr) {
      throw Error(ErrorCode::InvalidArgument, "network '" + name + "': cannot check bridge '" +
                                                  s.spec.bridge + "' without netlink");
    }
    ops = plan_bridge_address_repair(s.spec.bridge, links_->observe(s.spec.bridge),
                                     s.spec.owned_addresses);  // planned before any change
  }
  std::vector<std::string> done;
  if (!s.active) {
    hv_.start_network(name);
    done.push_back("started network " + name);
  }
  for (const auto& op : ops) {
    links_->apply(op);
    done.push_back(op.to_string());
  }
  return done;
}

}  // namespace cloudtwin::host
