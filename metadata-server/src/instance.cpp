#include "cloudtwin/metadata/instance.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::metadata {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::string_view kLineBreakOrNul("\r\n\0", 3);

class Reader {
 public:
  Reader(Object::Ptr obj, std::string source, std::string where)
      : obj_(std::move(obj)), source_(std::move(source)), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorCode::InvalidArgument, source_ + ": key '" + where_ + key + "': " + what);
  }

  bool has(const std::string& key) const { return obj_->has(key) && !obj_->isNull(key); }

  std::string str(const std::string& key, std::string fallback = {}) const {
    if (!has(key)) return fallback;
    const auto v = obj_->get(key);
    if (!v.isString()) fail(key, "expected a string");
    auto s = v.extract<std::string>();
    if (s.find('\0') != std::string::npos) fail(key, "contains a NUL byte");
    return s;
  }

  std::string line(const std::string& key, std::string fallback = {}) const {
    auto s = str(key, std::move(fallback));
    if (s.find_first_of("\r\n") != std::string::npos) fail(key, "must be a single line");
    return s;
  }

  int integer(const std::string& key, int fallback, int lo, int hi) const {
    if (!has(key)) return fallback;
    const auto v = obj_->get(key);
    if (!v.isInteger()) fail(key, "expected an integer");
    const auto n = v.convert<long long>();
    if (n < lo || n > hi) {
      fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return static_cast<int>(n);
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto v = obj_->get(key);
    if (!v.isBoolean()) fail(key, "expected true or false");
    return v.extract<bool>();
  }

  std::vector<std::string> lines(const std::string& key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto arr = obj_->getArray(key);
    if (!arr) fail(key, "expected an array of strings");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto v = arr->get(static_cast<unsigned>(i));
      if (!v.isString()) fail(key, "element " + std::to_string(i) + " is not a string");
      auto s = v.extract<std::string>();
      if (s.empty() || s.find_first_of(kLineBreakOrNul) != std::string::npos) {
        fail(key, "element " + std::to_string(i) + " is empty or has a line break");
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  Reader object(const std::string& key) const {
    if (!has(key)) return Reader(new Object, source_, where_ + key + ".");
    const auto o = obj_->getObject(key);
    if (!o) fail(key, "expected an object");
    return Reader(o, source_, where_ + key + ".");
  }

  std::vector<Reader> objects(const std::string& key) const {
    std::vector<Reader> out;
    if (!has(key)) return out;
    const auto arr = obj_->getArray(key);
    if (!arr) fail(key, "expected an array of objects");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto o = arr->getObject(static_cast<unsigned>(i));
      if (!o) fail(key, "element " + std::to_string(i) + " is not an object");
      out.emplace_back(o, source_, where_ + key + "[" + std::to_string(i) + "].");
    }
    return out;
  }

  std::map<std::string, std::string> string_map(const std::string& key) const {
    std::map<std::string, std::string> out;
    const auto r = object(key);
    for (const auto& name : r.obj_->getNames()) {
      if (name.empty() || name.find_first_of("/\r\n") != std::string::npos || name == "." ||
          name == "..") {
        fail(key, "name '" + name + "' is empty or contains '/' or a line break");
      }
      out[name] = r.str(name);
    }
    return out;
  }

  // Top-level "x-..." keys as compact JSON text.
  std::map<std::string, std::string> extensions() const {
    std::map<std::string, std::string> out;
    for (const auto& name : obj_->getNames()) {
      if (name.rfind("x-", 0) != 0) continue;
      std::ostringstream text;
      Poco::JSON::Stringifier::condense(obj_->get(name), text);
      out[name] = text.str();
    }
    return out;
  }

  void only(std::initializer_list<const char*> allowed) const {
    const std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& name : obj_->getNames()) {
      if (!ok.count(name) && name.rfind("x-", 0) != 0) {
        fail(name, "unknown key (a typo? extension keys start with 'x-')");
      }
    }
  }

 private:
  Object::Ptr obj_;
  std::string source_;
  std::string where_;
};

std::string checked_ipv4(const Reader& r, const std::string& key, const std::string& value) {
  try {
    return core::Ipv4::parse(value).to_string();
  } catch (const Error& e) {
    r.fail(key, "'" + value + "' is not an IPv4 address");
  }
}

std::string checked_ipv6(const Reader& r, const std::string& key, const std::string& value) {
  try {
    return core::Ipv6::parse(value).to_string();
  } catch (const Error& e) {
    r.fail(key, "'" + value + "' is not an IPv6 address");
  }
}

std::string decode_base64(const Reader& r, const std::string& key, const std::string& text) {
  try {
    return core::base64_decode(text);
  } catch (const Error& e) {
    r.fail(key, std::string("is not valid base64: ") + e.what());
  }
}

NetworkInterface parse_nic(const Reader& r) {
  r.only({"mac", "device-number", "network-card-index", "interface-id", "owner-id",
          "local-hostname", "local-ipv4s", "public-ipv4s", "ipv6s", "subnet-id",
          "subnet-ipv4-cidr-block", "subnet-ipv6-cidr-blocks", "vpc-id", "vpc-ipv4-cidr-blocks",
          "vpc-ipv6-cidr-blocks", "security-groups", "security-group-ids"});
  NetworkInterface n;
  const auto mac = r.str("mac");
  if (mac.empty()) r.fail("mac", "is required");
  try {
    n.mac = core::Mac::parse(mac).to_string();
  } catch (const Error&) {
    r.fail("mac", "'" + mac + "' is not a MAC address like 02:00:c0:a8:7a:0a");
  }
  n.device_number = r.integer("device-number", 0, 0, 255);
  n.network_card_index = r.integer("network-card-index", 0, 0, 255);
  n.interface_id = r.line("interface-id");
  n.owner_id = r.line("owner-id");
  n.local_hostname = r.line("local-hostname");
  for (const auto& ip : r.lines("local-ipv4s")) {
    n.local_ipv4s.push_back(checked_ipv4(r, "local-ipv4s", ip));
  }
  for (const auto& ip : r.lines("public-ipv4s")) {
    n.public_ipv4s.push_back(checked_ipv4(r, "public-ipv4s", ip));
  }
  for (const auto& ip : r.lines("ipv6s")) n.ipv6s.push_back(checked_ipv6(r, "ipv6s", ip));
  n.subnet_id = r.line("subnet-id");
  n.subnet_ipv4_cidr_block = r.line("subnet-ipv4-cidr-block");
  n.subnet_ipv6_cidr_blocks = r.lines("subnet-ipv6-cidr-blocks");
  n.vpc_id = r.line("vpc-id");
  n.vpc_ipv4_cidr_blocks = r.lines("vpc-ipv4-cidr-blocks");
  n.vpc_ipv6_cidr_blocks = r.lines("vpc-ipv6-cidr-blocks");
  n.security_groups = r.lines("security-groups");
  n.security_group_ids = r.lines("security-group-ids");
  return n;
}

Iam parse_iam(const Reader& r) {
  r.only({"role", "instance-profile-arn", "instance-profile-id", "last-updated", "credentials"});
  Iam iam;
  iam.role = r.line("role");
  if (iam.role.empty() || iam.role.find('/') != std::string::npos) {
    r.fail("role", "is required and must not contain '/'");
  }
  iam.instance_profile_arn = r.line("instance-profile-arn");
  iam.instance_profile_id = r.line("instance-profile-id");
  iam.last_updated = r.line("last-updated");
  if (r.has("credentials")) {
    const auto c = r.object("credentials");
    c.only({"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"});
    iam.credentials =
        IamCredentials{c.line("AccessKeyId"), c.line("SecretAccessKey"), c.line("Token"),
                       c.line("Expiration"), c.line("LastUpdated", iam.last_updated)};
  }
  return iam;
}

MetadataOptionsRecord parse_options(const Reader& r) {
  r.only({"http-tokens", "http-endpoint", "http-put-response-hop-limit", "instance-metadata-tags"});
  MetadataOptionsRecord o;
  const auto choice = [&r](const char* key, const char* yes,
                           const char* no) -> std::optional<bool> {
    if (!r.has(key)) return std::nullopt;
    const auto v = r.str(key);
    if (v != yes && v != no) r.fail(key, std::string("must be ") + yes + " or " + no);
    return v == yes;
  };
  if (const auto v = choice("http-tokens", "optional", "required"))
    o.http_tokens = *v ? HttpTokens::Optional : HttpTokens::Required;
  if (const auto v = choice("http-endpoint", "enabled", "disabled"))
    o.http_endpoint = *v ? HttpEndpoint::Enabled : HttpEndpoint::Disabled;
  if (r.has("http-put-response-hop-limit"))
    o.hop_limit = r.integer("http-put-response-hop-limit", 1, 1, 64);
  o.instance_metadata_tags = choice("instance-metadata-tags", "enabled", "disabled");
  return o;
}

void parse_top(const Reader& r, Instance& i) {
  r.only({"instance-id",
          "ami-id",
          "ami-launch-index",
          "ami-manifest-path",
          "instance-type",
          "instance-life-cycle",
          "instance-action",
          "hostname",
          "local-hostname",
          "local-ipv4",
          "public-hostname",
          "public-ipv4",
          "kernel-id",
          "ramdisk-id",
          "reservation-id",
          "account-id",
          "architecture",
          "pending-time",
          "placement",
          "services",
          "block-device-mapping",
          "security-groups",
          "network-interfaces",
          "public-keys",
          "user-data",
          "user-data-base64",
          "tags",
          "iam",
          "metadata-options",
          "network",
          "serve-to"});
  i.instance_id = r.line("instance-id");
  if (i.instance_id.empty() ||
      i.instance_id.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
          std::string::npos) {
    r.fail("instance-id", "is required and may hold only letters, digits, '-', '_' and '.'");
  }
  i.ami_id = r.line("ami-id");
  i.ami_launch_index = r.integer("ami-launch-index", 0, 0, 1 << 20);
  i.ami_manifest_path = r.line("ami-manifest-path", i.ami_manifest_path);
  i.instance_type = r.line("instance-type");
  i.instance_life_cycle = r.line("instance-life-cycle", i.instance_life_cycle);
  i.instance_action = r.line("instance-action", i.instance_action);
  i.local_hostname = r.line("local-hostname");
  i.hostname = r.line("hostname", i.local_hostname);
  if (i.local_hostname.empty()) i.local_hostname = i.hostname;
  if (r.has("local-ipv4")) i.local_ipv4 = checked_ipv4(r, "local-ipv4", r.str("local-ipv4"));
  i.public_hostname = r.line("public-hostname");
  if (r.has("public-ipv4")) i.public_ipv4 = checked_ipv4(r, "public-ipv4", r.str("public-ipv4"));
  i.kernel_id = r.line("kernel-id");
  i.ramdisk_id = r.line("ramdisk-id");
  i.reservation_id = r.line("reservation-id");
  i.account_id = r.line("account-id");
  i.architecture = r.line("architecture", i.architecture);
  i.pending_time = r.line("pending-time");
  i.network = r.line("network");
}

}  // namespace

MetadataOptions MetadataOptionsRecord::resolve(const MetadataOptions& defaults) const {
  MetadataOptions o = defaults;
  o.http_tokens = http_tokens.value_or(defaults.http_tokens);
  o.http_endpoint = http_endpoint.value_or(defaults.http_endpoint);
  o.hop_limit = hop_limit.value_or(defaults.hop_limit);
  o.instance_metadata_tags = instance_metadata_tags.value_or(defaults.instance_metadata_tags);
  return o;
}

const NetworkInterface* Instance::primary_interface() const noexcept {
  if (interfaces.empty()) return nullptr;
  for (const auto& n : interfaces) {
    if (n.device_number == 0) return &n;
  }
  return &interfaces.front();
}

std::vector<std::string> Instance::caller_addresses() const {
  if (!serve_to.empty()) return serve_to;
  std::vector<std::string> out;
  for (const auto& n : interfaces) {
    out.insert(out.end(), n.local_ipv4s.begin(), n.local_ipv4s.end());
    out.insert(out.end(), n.ipv6s.begin(), n.ipv6s.end());
  }
  if (out.empty() && !local_ipv4.empty()) out.push_back(local_ipv4);
  return out;
}

Instance parse_instance_json(std::string_view json, const std::string& source,
                             const MetadataOptions& defaults) {
  Poco::Dynamic::Var parsed;
  try {
    Poco::JSON::Parser parser;
    parsed = parser.parse(std::string(json));
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument, source + ": not valid JSON: " + e.displayText());
  }
  Object::Ptr root;
  if (parsed.type() == typeid(Object::Ptr)) root = parsed.extract<Object::Ptr>();
  if (!root)
    throw Error(ErrorCode::InvalidArgument, source + ": the top level must be a JSON object");
  const Reader r(root, source, "");
  Instance i;
  parse_top(r, i);

  const auto placement = r.object("placement");
  placement.only({"availability-zone", "availability-zone-id", "region"});
  i.availability_zone = placement.line("availability-zone");
  i.availability_zone_id = placement.line("availability-zone-id");
  i.region = placement.line("region");
  if (i.region.empty() && i.availability_zone.size() > 1) {
    i.region = i.availability_zone.substr(0, i.availability_zone.size() - 1);
  }
  const auto services = r.object("services");
  services.only({"domain", "partition"});
  i.services_domain = services.line("domain", i.services_domain);
  i.services_partition = services.line("partition", i.services_partition);

  i.block_device_mapping = r.string_map("block-device-mapping");
  i.security_groups = r.lines("security-groups");
  std::set<std::string> macs;
  for (const auto& nr : r.objects("network-interfaces")) {
    i.interfaces.push_back(parse_nic(nr));
    if (!macs.insert(i.interfaces.back().mac).second) {
      r.fail("network-interfaces", "MAC " + i.interfaces.back().mac + " appears twice");
    }
  }
  std::stable_sort(i.interfaces.begin(), i.interfaces.end(),
                   [](const auto& a, const auto& b) { return a.device_number < b.device_number; });
  if (i.local_ipv4.empty()) {
    const auto* p = i.primary_interface();
    if (p && !p->local_ipv4s.empty()) i.local_ipv4 = p->local_ipv4s.front();
  }
  for (const auto& kr : r.objects("public-keys")) {
    kr.only({"name", "openssh-key"});
    PublicKey k{kr.line("name"), kr.str("openssh-key")};
    if (k.name.empty() || k.openssh_key.empty())
      kr.fail("name", "a key needs a name and an openssh-key");
    i.public_keys.push_back(std::move(k));
  }
  if (r.has("user-data") && r.has("user-data-base64")) {
    r.fail("user-data", "give either user-data or user-data-base64, not both");
  }
  if (r.has("user-data")) i.user_data = r.str("user-data");
  if (r.has("user-data-base64")) {
    i.user_data = decode_base64(r, "user-data-base64", r.str("user-data-base64"));
  }
  i.tags = r.string_map("tags");
  if (r.has("iam")) i.iam = parse_iam(r.object("iam"));
  i.options_record = parse_options(r.object("metadata-options"));
  i.options = i.options_record.resolve(defaults);
  i.extensions = r.extensions();
  for (const auto& a : r.lines("serve-to")) {
    i.serve_to.push_back(a.find(':') == std::string::npos ? checked_ipv4(r, "serve-to", a)
                                                          : checked_ipv6(r, "serve-to", a));
  }
  return i;
}

}  // namespace cloudtwin::metadata
