// The test endpoint's Elastic IPs, security groups, key pairs and images.
#include <algorithm>

#include "cloudtwin/core/user_data.hpp"
#include "ec2_answer.hpp"
#include "service_state.hpp"

namespace cloudtwin::ec2test {

namespace {

using State = Ec2Service::State;

ElasticAddress& find_address(State& s, const std::string& allocation_id) {
  const auto it = s.addresses.find(allocation_id);
  if (it == s.addresses.end()) {
    throw ApiError(400, "InvalidAllocationID.NotFound",
                   "The allocation ID '" + allocation_id + "' does not exist");
  }
  return it->second;
}

SecurityGroup& find_group(State& s, const std::string& group_id) {
  const auto it = s.groups.find(group_id);
  if (it == s.groups.end()) {
    throw ApiError(400, "InvalidGroup.NotFound",
                   "The security group '" + group_id + "' does not exist");
  }
  return it->second;
}

std::string address_item(const aws::Address& a) {
  std::string out = "<item>" + element("publicIp", a.public_ip) +
                    element("allocationId", a.allocation_id) + element("domain", a.domain);
  if (!a.association_id.empty()) {
    out += element("instanceId", a.instance_id) + element("associationId", a.association_id);
  }
  return out + "</item>";
}

std::string key_item(const aws::KeyPairInfo& k) {
  return "<item>" + element("keyPairId", k.key_pair_id) + element("keyName", k.key_name) +
         element("keyFingerprint", k.key_fingerprint) + "</item>";
}

// A stable made-up fingerprint ("xx:xx:..." of 16 bytes) from the key text.
std::string fingerprint(const std::string& key) {
  unsigned long long h = 1469598103934665603ULL;
  std::string out;
  for (int n = 0; n < 16; ++n) {
    for (const char c : key)
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL + static_cast<unsigned>(n);
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(h >> 56));
    if (!out.empty()) out += ':';
    out += buf;
  }
  return out;
}

}  // namespace

aws::HttpResponse network_action(State& s, const ServiceOptions& options, const std::string& action,
                                 const Query& q, const std::string& request_id) {
  if (action == "AllocateAddress") {
    ElasticAddress a;
    a.address.allocation_id = s.new_id("eipalloc");
    a.address.public_ip = "198.51.100." + std::to_string(s.next_address++ % 250 + 2);
    a.address.domain = "vpc";
    const auto body = element("publicIp", a.address.public_ip) + element("domain", "vpc") +
                      element("allocationId", a.address.allocation_id);
    s.addresses[a.address.allocation_id] = a;
    return ok(action, request_id, body);
  }
  if (action == "AssociateAddress") {
    auto& a = find_address(s, q.required("AllocationId"));
    const auto id = q.required("InstanceId");
    const auto it = s.instances.find(id);
    if (it == s.instances.end()) {
      throw ApiError(400, "InvalidInstanceID.NotFound",
                     "The instance ID '" + id + "' does not exist");
    }
    if (it->second.instance.state != "running") {
      throw ApiError(400, "IncorrectInstanceState",
                     "The pending-instance-running instance to which '" + id +
                         "' is attached is not in a valid state for this operation");
    }
    a.address.instance_id = id;
    a.address.association_id = s.new_id("eipassoc");
    it->second.instance.public_ip = a.address.public_ip;
    return ok(action, request_id,
              element("return", "true") + element("associationId", a.address.association_id));
  }
  if (action == "DisassociateAddress") {
    const auto association = q.required("AssociationId");
    for (auto& [alloc, a] : s.addresses) {
      if (a.address.association_id != association) continue;
      if (auto it = s.instances.find(a.address.instance_id); it != s.instances.end()) {
        it->second.instance.public_ip.clear();
      }
      a.address.association_id.clear();
      a.address.instance_id.clear();
      return ok(action, request_id, element("return", "true"));
    }
    throw ApiError(400, "InvalidAssociationID.NotFound",
                   "The association ID '" + association + "' does not exist");
  }
  if (action == "ReleaseAddress") {
    auto& a = find_address(s, q.required("AllocationId"));
    if (!a.address.association_id.empty()) {
      throw ApiError(400, "InvalidIPAddress.InUse",
                     "Address '" + a.address.public_ip + "' is in use.");
    }
    s.addresses.erase(a.address.allocation_id);
    return ok(action, request_id, element("return", "true"));
  }
  if (action == "DescribeAddresses") {
    const auto ids = q.list("AllocationId");
    const auto ips = q.list("PublicIp");
    std::string body = "<addressesSet>";
    for (const auto& id : ids) find_address(s, id);
    for (const auto& ip : ips) {
      if (std::none_of(s.addresses.begin(), s.addresses.end(),
                       [&](const auto& e) { return e.second.address.public_ip == ip; })) {
        throw ApiError(400, "InvalidAddress.NotFound", "Address '" + ip + "' not found.");
      }
    }
    for (const auto& [alloc, a] : s.addresses) {
      const bool by_id = ids.empty() || std::find(ids.begin(), ids.end(), alloc) != ids.end();
      const bool by_ip =
          ips.empty() || std::find(ips.begin(), ips.end(), a.address.public_ip) != ips.end();
      if (by_id && by_ip) body += address_item(a.address);
    }
    return ok(action, request_id, body + "</addressesSet>");
  }

  if (action == "CreateSecurityGroup") {
    SecurityGroup g;
    g.name = q.required("GroupName");
    g.description = q.required("GroupDescription");
    g.vpc_id = q.get("VpcId").empty() ? "vpc-0c10d0default" : q.get("VpcId");
    for (const auto& [id, other] : s.groups) {
      if (other.name == g.name && other.vpc_id == g.vpc_id) {
        throw ApiError(
            400, "InvalidGroup.Duplicate",
            "The security group '" + g.name + "' already exists for VPC '" + g.vpc_id + "'");
      }
    }
    g.group_id = s.new_id("sg");
    s.groups[g.group_id] = g;
    return ok(action, request_id, element("return", "true") + element("groupId", g.group_id));
  }
  if (action == "AuthorizeSecurityGroupIngress") {
    auto& g = find_group(s, q.required("GroupId"));
    std::vector<aws::IpPermission> added;
    for (int n = 1; q.has("IpPermissions." + std::to_string(n) + ".IpProtocol"); ++n) {
      const std::string p = "IpPermissions." + std::to_string(n);
      aws::IpPermission perm;
      perm.protocol = q.get(p + ".IpProtocol");
      perm.from_port = std::atoi(q.get(p + ".FromPort").c_str());
      perm.to_port = std::atoi(q.get(p + ".ToPort").c_str());
      perm.cidr = q.get(p + ".IpRanges.1.CidrIp");
      const bool duplicate = std::any_of(g.ingress.begin(), g.ingress.end(), [&](const auto& e) {
        return e.protocol == perm.protocol && e.from_port == perm.from_port &&
               e.to_port == perm.to_port && e.cidr == perm.cidr;
      });
      if (duplicate) {
        throw ApiError(400, "InvalidPermission.Duplicate",
                       "the specified rule \"peer: " + perm.cidr + ", " + perm.protocol +
                           ", from port: " + std::to_string(perm.from_port) + ", to port: " +
                           std::to_string(perm.to_port) + ", ALLOW\" already exists");
      }
      added.push_back(perm);
    }
    if (added.empty()) q.required("IpPermissions.1.IpProtocol");
    g.ingress.insert(g.ingress.end(), added.begin(), added.end());
    return ok(action, request_id, element("return", "true"));
  }
  if (action == "DeleteSecurityGroup") {
    const auto id = q.required("GroupId");
    find_group(s, id);
    for (const auto& [iid, li] : s.instances) {
      const auto& sgs = li.instance.security_group_ids;
      if (li.instance.state != "terminated" && std::find(sgs.begin(), sgs.end(), id) != sgs.end()) {
        throw ApiError(400, "DependencyViolation", "resource " + id + " has a dependent object");
      }
    }
    s.groups.erase(id);
    return ok(action, request_id, element("return", "true"));
  }

  if (action == "ImportKeyPair") {
    aws::KeyPairInfo k;
    k.key_name = q.required("KeyName");
    std::string material;
    try {
      material = core::base64_decode(q.required("PublicKeyMaterial"));
    } catch (const ApiError&) {
      throw;
    } catch (const std::exception&) {
      throw ApiError(400, "InvalidKey.Format", "Key is not in valid OpenSSH public key format");
    }
    if (material.rfind("ssh-", 0) != 0 && material.rfind("ecdsa-", 0) != 0) {
      throw ApiError(400, "InvalidKey.Format", "Key is not in valid OpenSSH public key format");
    }
    if (s.key_pairs.count(k.key_name) != 0) {
      throw ApiError(400, "InvalidKeyPair.Duplicate",
                     "The keypair '" + k.key_name + "' already exists.");
    }
    k.key_fingerprint = fingerprint(material);
    k.key_pair_id = s.new_id("key");
    s.key_pairs[k.key_name] = k;
    return ok(action, request_id,
              element("keyName", k.key_name) + element("keyFingerprint", k.key_fingerprint) +
                  element("keyPairId", k.key_pair_id));
  }
  if (action == "DescribeKeyPairs") {
    const auto names = q.list("KeyName");
    std::string body = "<keySet>";
    for (const auto& n : names) {
      if (s.key_pairs.count(n) == 0) {
        throw ApiError(400, "InvalidKeyPair.NotFound", "The key pair '" + n + "' does not exist");
      }
      body += key_item(s.key_pairs.at(n));
    }
    if (names.empty()) {
      for (const auto& [n, k] : s.key_pairs) body += key_item(k);
    }
    return ok(action, request_id, body + "</keySet>");
  }
  if (action == "DeleteKeyPair") {
    s.key_pairs.erase(q.required("KeyName"));
    return ok(action, request_id, element("return", "true"));
  }
  if (action == "RegisterImage") {
    q.required("Name");
    const std::string id = s.new_id("ami");
    s.images.insert(id);
    return ok(action, request_id, element("imageId", id));
  }
  (void)options;
  throw ApiError(400, "InvalidAction",
                 "The action " + action + " is not valid for this web service.");
}

}  // namespace cloudtwin::ec2test
