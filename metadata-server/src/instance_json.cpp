// Writing an instance record (the inverse of parse_instance_json in instance.cpp).
#include <functional>

#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/metadata/instance.hpp"

namespace cloudtwin::metadata {

namespace {

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out + '"';
}

// A compact JSON object under construction: members in the order they are added.
class Obj {
 public:
  Obj& raw(std::string_view key, const std::string& json) {
    text_ += (text_.empty() ? "" : ",") + quote(key) + ":" + json;
    return *this;
  }
  Obj& str(std::string_view key, const std::string& v) { return raw(key, quote(v)); }
  Obj& str_if(std::string_view key, const std::string& v) {
    return v.empty() ? *this : str(key, v);
  }
  Obj& num(std::string_view key, int v) { return raw(key, std::to_string(v)); }
  Obj& list_if(std::string_view key, const std::vector<std::string>& v) {
    if (v.empty()) return *this;
    std::string a;
    for (const auto& s : v) a += (a.empty() ? "" : ",") + quote(s);
    return raw(key, "[" + a + "]");
  }
  Obj& map_if(std::string_view key, const std::map<std::string, std::string>& m) {
    if (m.empty()) return *this;
    Obj o;
    for (const auto& [k, v] : m) o.str(k, v);
    return raw(key, o.done());
  }
  Obj& obj_if(std::string_view key, const Obj& o) { return o.empty() ? *this : raw(key, o.done()); }
  bool empty() const { return text_.empty(); }
  std::string done() const { return "{" + text_ + "}"; }

 private:
  std::string text_;
};

std::string nic_json(const NetworkInterface& n) {
  Obj o;
  o.str("mac", n.mac).num("device-number", n.device_number);
  if (n.network_card_index != 0) o.num("network-card-index", n.network_card_index);
  o.str_if("interface-id", n.interface_id)
      .str_if("owner-id", n.owner_id)
      .str_if("local-hostname", n.local_hostname)
      .list_if("local-ipv4s", n.local_ipv4s)
      .list_if("public-ipv4s", n.public_ipv4s)
      .list_if("ipv6s", n.ipv6s)
      .str_if("subnet-id", n.subnet_id)
      .str_if("subnet-ipv4-cidr-block", n.subnet_ipv4_cidr_block)
      .list_if("subnet-ipv6-cidr-blocks", n.subnet_ipv6_cidr_blocks)
      .str_if("vpc-id", n.vpc_id)
      .list_if("vpc-ipv4-cidr-blocks", n.vpc_ipv4_cidr_blocks)
      .list_if("vpc-ipv6-cidr-blocks", n.vpc_ipv6_cidr_blocks)
      .list_if("security-groups", n.security_groups)
      .list_if("security-group-ids", n.security_group_ids);
  return o.done();
}

Obj iam_obj(const Iam& iam) {
  Obj o;
  o.str("role", iam.role)
      .str_if("instance-profile-arn", iam.instance_profile_arn)
      .str_if("instance-profile-id", iam.instance_profile_id)
      .str_if("last-updated", iam.last_updated);
  if (iam.credentials) {
    const auto& c = *iam.credentials;
    Obj k;
    k.str("AccessKeyId", c.access_key_id)
        .str("SecretAccessKey", c.secret_access_key)
        .str("Token", c.token)
        .str("Expiration", c.expiration)
        .str("LastUpdated", c.last_updated);
    o.raw("credentials", k.done());
  }
  return o;
}

Obj options_obj(const MetadataOptionsRecord& r) {
  Obj o;
  if (r.http_tokens)
    o.str("http-tokens", *r.http_tokens == HttpTokens::Required ? "required" : "optional");
  if (r.http_endpoint)
    o.str("http-endpoint", *r.http_endpoint == HttpEndpoint::Enabled ? "enabled" : "disabled");
  if (r.hop_limit) o.num("http-put-response-hop-limit", *r.hop_limit);
  if (r.instance_metadata_tags)
    o.str("instance-metadata-tags", *r.instance_metadata_tags ? "enabled" : "disabled");
  return o;
}

// Members whose value differs from what parsing fills in when the key is absent.
void put_identity(Obj& o, const Instance& i) {
  const Instance d;  // the defaults
  o.str("instance-id", i.instance_id).str_if("ami-id", i.ami_id);
  if (i.ami_launch_index != 0) o.num("ami-launch-index", i.ami_launch_index);
  if (i.ami_manifest_path != d.ami_manifest_path) o.str("ami-manifest-path", i.ami_manifest_path);
  o.str_if("instance-type", i.instance_type);
  if (i.instance_life_cycle != d.instance_life_cycle)
    o.str("instance-life-cycle", i.instance_life_cycle);
  if (i.instance_action != d.instance_action) o.str("instance-action", i.instance_action);
  o.str_if("local-hostname", i.local_hostname);
  if (i.hostname != i.local_hostname) o.str("hostname", i.hostname);
  const auto* primary = i.primary_interface();
  const bool derived_ipv4 =
      primary && !primary->local_ipv4s.empty() && primary->local_ipv4s.front() == i.local_ipv4;
  if (!derived_ipv4) o.str_if("local-ipv4", i.local_ipv4);
  o.str_if("public-hostname", i.public_hostname)
      .str_if("public-ipv4", i.public_ipv4)
      .str_if("kernel-id", i.kernel_id)
      .str_if("ramdisk-id", i.ramdisk_id)
      .str_if("reservation-id", i.reservation_id)
      .str_if("account-id", i.account_id);
  if (i.architecture != d.architecture) o.str("architecture", i.architecture);
  o.str_if("pending-time", i.pending_time);
}

}  // namespace

std::string instance_to_json(const Instance& i) {
  Obj o;
  put_identity(o, i);
  Obj placement;
  placement.str_if("availability-zone", i.availability_zone)
      .str_if("availability-zone-id", i.availability_zone_id);
  const auto& az = i.availability_zone;
  if (!(az.size() > 1 && i.region == az.substr(0, az.size() - 1)))
    placement.str_if("region", i.region);
  o.obj_if("placement", placement);
  const Instance d;
  Obj services;
  if (i.services_domain != d.services_domain) services.str("domain", i.services_domain);
  if (i.services_partition != d.services_partition) services.str("partition", i.services_partition);
  o.obj_if("services", services)
      .map_if("block-device-mapping", i.block_device_mapping)
      .list_if("security-groups", i.security_groups);
  if (!i.interfaces.empty()) {
    std::string a;
    for (const auto& n : i.interfaces) a += (a.empty() ? "" : ",") + nic_json(n);
    o.raw("network-interfaces", "[" + a + "]");
  }
  if (!i.public_keys.empty()) {
    std::string a;
    for (const auto& k : i.public_keys) {
      a += (a.empty() ? "" : ",") +
           Obj().str("name", k.name).str("openssh-key", k.openssh_key).done();
    }
    o.raw("public-keys", "[" + a + "]");
  }
  if (i.user_data) o.str("user-data-base64", core::base64_encode(*i.user_data));
  o.map_if("tags", i.tags);
  if (i.iam) o.raw("iam", iam_obj(*i.iam).done());
  o.obj_if("metadata-options", options_obj(i.options_record))
      .str_if("network", i.network)
      .list_if("serve-to", i.serve_to);
  for (const auto& [key, json] : i.extensions) o.raw(key, json);
  return o.done();
}

}  // namespace cloudtwin::metadata
