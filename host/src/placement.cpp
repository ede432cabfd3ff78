#include "cloudtwin/host/placement.hpp"

#include <algorithm>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {
namespace {

// Whether [ec2] max_instances sets any cap (else every type is allowed without limit).
bool ec2_capped(const Capacity& c) {
  return std::any_of(c.instances_by_type.begin(), c.instances_by_type.end(),
                     [](const auto& e) { return e.second.second > 0; });
}

std::string of(std::uint64_t used, std::uint64_t allowed) {
  return std::to_string(used) + "/" +
         (allowed == 0 ? std::string("unlimited") : std::to_string(allowed));
}

std::string needs(const PlacementRequest& r, const std::string& kind) {
  if (kind == "ec2") return "1 " + r.instance_type;
  return std::to_string(r.vcpu) + " vCPU, " + std::to_string(r.memory_mib) + " MiB";
}

// Whether `c` can take the VM; `why` says what stops it otherwise.
bool takes(const PlacementCandidate& c, const PlacementRequest& r, std::string& why) {
  if (c.kind == "ec2") {
    if (!r.ec2_ready) {
      why = "the template has no EC2 = [ AMI = ... ]";
      return false;
    }
    if (!ec2_type_fits(c.capacity, r.instance_type)) {
      const auto it = c.capacity.instances_by_type.find(r.instance_type);
      why = it == c.capacity.instances_by_type.end() || it->second.second == 0
                ? r.instance_type + " is not in [ec2] max_instances"
                : r.instance_type + " is at its cap";
      return false;
    }
    return true;
  }
  if (!fits(c.capacity, r.vcpu, r.memory_mib)) {
    why = "full for " + needs(r, c.kind);
    return false;
  }
  return true;
}

std::string all_figures(const std::vector<PlacementCandidate>& hosts) {
  std::string out;
  for (const auto& h : hosts) out += (out.empty() ? "" : "; ") + capacity_figures(h);
  return out;
}

}  // namespace

std::string capacity_text(const PlacementCandidate& c) {
  const auto& cap = c.capacity;
  if (c.kind == "ec2") {
    const bool capped = ec2_capped(cap);
    std::string items;
    for (const auto& [type, n] : cap.instances_by_type) {
      items += (items.empty() ? "" : ", ") + type + " " +
               (capped ? std::to_string(n.first) + "/" + std::to_string(n.second)
                       : of(n.first, n.second));
    }
    return items.empty() ? "no instances, no caps" : items;
  }
  return "vCPU " + of(cap.vcpu_used, cap.vcpu_allowed) + ", memory " +
         of(cap.memory_mib_used, cap.memory_mib_allowed) + " MiB";
}

std::string capacity_figures(const PlacementCandidate& c) {
  std::string out = c.name;
  if (!c.capacity.host.empty() && c.capacity.host != c.name) out += " (" + c.capacity.host + ")";
  return out + ": " + capacity_text(c);
}

bool ec2_type_fits(const Capacity& c, const std::string& type) {
  if (!ec2_capped(c)) return true;
  const auto it = c.instances_by_type.find(type);
  return it != c.instances_by_type.end() && it->second.first < it->second.second;
}

Placement place(const std::vector<PlacementCandidate>& hosts, const PlacementRequest& r) {
  if (!r.pinned.empty()) {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      const auto& h = hosts[i];
      if (h.name != r.pinned && h.kind != r.pinned) continue;
      std::string why;
      if (!takes(h, r, why)) {
        throw Error(ErrorCode::InvalidArgument,
                    "VM '" + r.vm + "' is pinned to " + h.name + " by " + r.pinned_by +
                        ", which cannot take it: " + why + " (" + capacity_figures(h) +
                        "); raise the cap in host.conf, delete a VM there, or pin it elsewhere");
      }
      return {i, r.pinned_by + " " + r.pinned + ": " + capacity_figures(h)};
    }
    std::string names;
    for (const auto& h : hosts) names += (names.empty() ? "" : ", ") + h.name;
    throw Error(ErrorCode::NotFound, r.pinned_by + " names host '" + r.pinned +
                                         "', which is not configured (hosts: " + names +
                                         "; add EC2 with `cloudtwin cloud add ec2 --region R`)");
  }
  std::string passed;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string why;
    if (takes(hosts[i], r, why)) {
      std::string reason = passed.empty() ? "first host with room" : passed;
      return {i, reason + "; " + capacity_figures(hosts[i])};
    }
    passed += (passed.empty() ? "" : "; ") + hosts[i].name + " skipped: " + why;
  }
  throw Error(ErrorCode::InvalidArgument,
              "no host can take VM '" + r.vm + "' (" + needs(r, "libvirt") +
                  (r.ec2_ready ? ", or one " + r.instance_type + " on EC2" : "") +
                  "): " + all_figures(hosts) +
                  "; raise [capacity] or [ec2] max_instances in host.conf, delete a VM, "
                  "or give the template EC2 = [ AMI = ... ] to let it burst to EC2");
}

}  // namespace cloudtwin::host
