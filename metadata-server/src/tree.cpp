#include "cloudtwin/metadata/tree.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "cloudtwin/metadata/identity_credentials.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::metadata {

namespace {

const MetadataTree::Entry kNotFound{};

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

const std::vector<std::string>& api_versions() {
  static const std::vector<std::string> versions = {
      "1.0",        "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
      "2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
      "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02",
      "2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01", "2020-10-27", "2021-01-03",
      "2021-03-23", "2021-07-15", "2022-09-24", "2024-04-11", "latest"};
  return versions;
}

bool is_api_version(std::string_view name) {
  if (name == "latest") return true;  // nearly every request
  const auto& v = api_versions();
  return std::find(v.begin(), v.end(), name) != v.end();
}

void MetadataTree::put(std::string_view path, std::string value) {
  std::string p(path);
  entries_[p] = Entry{Kind::Leaf, std::move(value), nullptr};
  while (!p.empty()) {
    p = parent_of(p);
    entries_[p].kind = Kind::Directory;
  }
}

void MetadataTree::put_lazy(std::string_view path, std::function<std::string()> make) {
  put(path, std::string());
  entries_[std::string(path)].lazy = std::make_shared<const Lazy>(std::move(make));
}

void MetadataTree::put_listing(std::string_view dir_path, std::string listing) {
  listing_overrides_[std::string(dir_path)] = std::move(listing);
}

void MetadataTree::finish() {
  std::map<std::string, std::set<std::string>> children;
  for (const auto& [path, entry] : entries_) {
    if (path.empty()) continue;
    children[parent_of(path)].insert(base_of(path) + (entry.kind == Kind::Directory ? "/" : ""));
  }
  for (auto& [path, entry] : entries_) {
    if (entry.kind != Kind::Directory) continue;
    if (const auto o = listing_overrides_.find(path); o != listing_overrides_.end()) {
      entry.body = o->second;
      continue;
    }
    entry.body.clear();
    for (const auto& name : children[path]) {
      if (!entry.body.empty()) entry.body += '\n';
      entry.body += name;
    }
  }
}

const MetadataTree::Entry& MetadataTree::find(std::string_view path) const {
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  // Keys never hold empty segments, so "a//b" or "/a" cannot match; "." and ".." are
  // not names we create, so they cannot either. No normalisation is needed.
  const auto it = entries_.find(path);
  return it == entries_.end() ? kNotFound : it->second;
}

std::string identity_document(const record::Instance& i) {
  const auto str_or_null = [](const std::string& s) {
    return s.empty() ? std::string("null") : record::json_quote(s);
  };
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"accountId", record::json_quote(i.account_id)},
      {"architecture", record::json_quote(i.architecture)},
      {"availabilityZone", record::json_quote(i.availability_zone)},
      {"billingProducts", "null"},
      {"devpayProductCodes", "null"},
      {"marketplaceProductCodes", "null"},
      {"imageId", record::json_quote(i.ami_id)},
      {"instanceId", record::json_quote(i.instance_id)},
      {"instanceType", record::json_quote(i.instance_type)},
      {"kernelId", str_or_null(i.kernel_id)},
      {"pendingTime", record::json_quote(i.pending_time)},
      {"privateIp", record::json_quote(i.local_ipv4)},
      {"ramdiskId", str_or_null(i.ramdisk_id)},
      {"region", record::json_quote(i.region)},
      {"version", record::json_quote("2017-09-30")},
  };
  std::string out = "{\n";
  for (std::size_t n = 0; n < fields.size(); ++n) {
    out += "  " + record::json_quote(fields[n].first) + " : " + fields[n].second;
    out += n + 1 < fields.size() ? ",\n" : "\n";
  }
  return out + "}";
}

namespace {

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

void put_if(MetadataTree& t, std::string_view path, const std::string& value) {
  if (!value.empty()) t.put(path, value);
}

void put_lines_if(MetadataTree& t, std::string_view path, const std::vector<std::string>& v) {
  if (!v.empty()) t.put(path, join_lines(v));
}

void put_nic(MetadataTree& t, const record::Instance& i, const record::NetworkInterface& n) {
  const std::string d = "meta-data/network/interfaces/macs/" + n.mac + "/";
  t.put(d + "device-number", std::to_string(n.device_number));
  t.put(d + "network-card-index", std::to_string(n.network_card_index));
  t.put(d + "mac", n.mac);
  put_if(t, d + "interface-id", n.interface_id);
  put_if(t, d + "owner-id", n.owner_id.empty() ? i.account_id : n.owner_id);
  put_if(t, d + "local-hostname",
         n.local_hostname.empty() && n.device_number == 0 ? i.local_hostname : n.local_hostname);
  put_lines_if(t, d + "local-ipv4s", n.local_ipv4s);
  put_lines_if(t, d + "public-ipv4s", n.public_ipv4s);
  put_lines_if(t, d + "ipv6s", n.ipv6s);
  if (!n.public_ipv4s.empty() && !n.local_ipv4s.empty()) {
    for (const auto& pub : n.public_ipv4s)
      t.put(d + "ipv4-associations/" + pub, n.local_ipv4s.front());
    if (n.device_number == 0) put_if(t, d + "public-hostname", i.public_hostname);
  }
  put_if(t, d + "subnet-id", n.subnet_id);
  put_if(t, d + "subnet-ipv4-cidr-block", n.subnet_ipv4_cidr_block);
  put_lines_if(t, d + "subnet-ipv6-cidr-blocks", n.subnet_ipv6_cidr_blocks);
  put_if(t, d + "vpc-id", n.vpc_id);
  if (!n.vpc_ipv4_cidr_blocks.empty())
    t.put(d + "vpc-ipv4-cidr-block", n.vpc_ipv4_cidr_blocks.front());
  put_lines_if(t, d + "vpc-ipv4-cidr-blocks", n.vpc_ipv4_cidr_blocks);
  put_lines_if(t, d + "vpc-ipv6-cidr-blocks", n.vpc_ipv6_cidr_blocks);
  put_lines_if(t, d + "security-groups",
               n.security_groups.empty() ? i.security_groups : n.security_groups);
  put_lines_if(t, d + "security-group-ids", n.security_group_ids);
}

void put_iam(MetadataTree& t, const record::Iam& iam) {
  std::string info =
      "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : " + record::json_quote(iam.last_updated) +
      ",\n  \"InstanceProfileArn\" : " + record::json_quote(iam.instance_profile_arn) +
      ",\n  \"InstanceProfileId\" : " + record::json_quote(iam.instance_profile_id) + "\n}";
  t.put("meta-data/iam/info", std::move(info));
  if (!iam.credentials) return;  // a profile without a role: EC2 lists only iam/info
  const auto& c = *iam.credentials;
  std::string creds =
      "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : " + record::json_quote(c.last_updated) +
      ",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : " + record::json_quote(c.access_key_id) +
      ",\n  \"SecretAccessKey\" : " + record::json_quote(c.secret_access_key) +
      ",\n  \"Token\" : " + record::json_quote(c.token) +
      ",\n  \"Expiration\" : " + record::json_quote(c.expiration) + "\n}";
  t.put("meta-data/iam/security-credentials/" + iam.role, std::move(creds));
}

void put_meta_data(MetadataTree& t, const record::Instance& i) {
  put_if(t, "meta-data/ami-id", i.ami_id);
  t.put("meta-data/ami-launch-index", std::to_string(i.ami_launch_index));
  put_if(t, "meta-data/ami-manifest-path", i.ami_manifest_path);
  for (const auto& [name, dev] : i.block_device_mapping)
    t.put("meta-data/block-device-mapping/" + name, dev);
  put_if(t, "meta-data/hostname", i.hostname);
  put_if(t, "meta-data/instance-action", i.instance_action);
  t.put("meta-data/instance-id", i.instance_id);
  put_if(t, "meta-data/instance-life-cycle", i.instance_life_cycle);
  put_if(t, "meta-data/instance-type", i.instance_type);
  put_if(t, "meta-data/kernel-id", i.kernel_id);
  put_if(t, "meta-data/ramdisk-id", i.ramdisk_id);
  put_if(t, "meta-data/local-hostname", i.local_hostname);
  put_if(t, "meta-data/local-ipv4", i.local_ipv4);
  put_if(t, "meta-data/public-hostname", i.public_hostname);
  put_if(t, "meta-data/public-ipv4", i.public_ipv4);
  put_if(t, "meta-data/reservation-id", i.reservation_id);
  put_lines_if(t, "meta-data/security-groups", i.security_groups);
  put_if(t, "meta-data/placement/availability-zone", i.availability_zone);
  put_if(t, "meta-data/placement/availability-zone-id", i.availability_zone_id);
  put_if(t, "meta-data/placement/region", i.region);
  t.put("meta-data/services/domain", i.services_domain);
  t.put("meta-data/services/partition", i.services_partition);
  if (const auto* p = i.primary_interface()) t.put("meta-data/mac", p->mac);
  for (const auto& n : i.interfaces) put_nic(t, i, n);
  std::string keys;
  for (std::size_t k = 0; k < i.public_keys.size(); ++k) {
    t.put("meta-data/public-keys/" + std::to_string(k) + "/openssh-key",
          i.public_keys[k].openssh_key);
    keys += (k ? "\n" : "") + std::to_string(k) + "=" + i.public_keys[k].name;
  }
  if (!i.public_keys.empty()) t.put_listing("meta-data/public-keys", keys);
  if (i.options.instance_metadata_tags) {
    for (const auto& [key, value] : i.tags) t.put("meta-data/tags/instance/" + key, value);
  }
  if (i.iam) put_iam(t, *i.iam);
  // Answered by the handler (IdentityCredentials): values change while the tree stays.
  t.put(kIdentityCredentialsInfo, {});
  t.put(kIdentityCredentialsKeys, {});
}

void put_notices(MetadataTree& t, const Notices& n) {
  t.put("meta-data/events/maintenance/history", n.maintenance_history);
  t.put("meta-data/events/maintenance/scheduled", n.maintenance_scheduled);
  put_if(t, "meta-data/events/recommendations/rebalance", n.rebalance);
  put_if(t, "meta-data/spot/instance-action", n.spot_instance_action);
  put_if(t, "meta-data/spot/termination-time", n.spot_termination_time);
  put_if(t, "meta-data/autoscaling/target-lifecycle-state", n.lifecycle_state);
}

}  // namespace

MetadataTree build_tree(const record::Instance& i, const IdentitySigner* signer,
                        const Notices& notices) {
  MetadataTree t;
  put_meta_data(t, i);
  put_notices(t, notices);
  const auto doc = identity_document(i);
  t.put("dynamic/instance-identity/document", doc);
  if (signer) {
    const auto lazy_sign = [&](const char* path, IdentityFormat format) {
      t.put_lazy(path, [signer, format, doc] { return signer->sign(format, doc); });
    };
    lazy_sign("dynamic/instance-identity/signature", IdentityFormat::Signature);
    lazy_sign("dynamic/instance-identity/pkcs7", IdentityFormat::Pkcs7);
    lazy_sign("dynamic/instance-identity/rsa2048", IdentityFormat::Rsa2048);
  }
  t.put("dynamic/fws/instance-monitoring", "disabled");
  if (i.user_data) t.put("user-data", *i.user_data);
  // EC2 lists the version root without trailing slashes.
  t.put_listing("", i.user_data ? "dynamic\nmeta-data\nuser-data" : "dynamic\nmeta-data");
  t.finish();
  return t;
}

HostIdentity::HostIdentity(const IdentitySigner* signer, std::string account_id,
                           std::function<std::chrono::system_clock::time_point()> now)
    : signer_(signer), account_id_(std::move(account_id)), now_(std::move(now)) {}

std::string HostIdentity::first_loaded(const std::string& instance_id) const {
  const std::lock_guard lock(mutex_);
  auto& t = first_loaded_[instance_id];
  if (t.empty()) t = record::iso8601_utc(now_());
  return t;
}

record::Instance HostIdentity::complete(record::Instance instance) const {
  if (instance.account_id.empty()) instance.account_id = account_id_;
  if (instance.pending_time.empty()) instance.pending_time = first_loaded(instance.instance_id);
  return instance;
}

std::shared_ptr<const ServedInstance> make_served(record::Instance instance,
                                                  const HostIdentity* host, std::string name,
                                                  const Notices& notices) {
  auto s = std::make_shared<ServedInstance>();
  s->name = std::move(name);
  if (host) instance = host->complete(std::move(instance));
  s->tree = build_tree(instance, host ? host->signer() : nullptr, notices);
  s->instance = std::move(instance);
  return s;
}

}  // namespace cloudtwin::metadata
