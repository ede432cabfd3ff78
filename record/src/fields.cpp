// The field table of the instance record. Adding a key = one row here (+ the member).
// Rules that involve several keys (defaults taken from another key, duplicate MACs) are
// in instance.cpp's finish(); the rows' meanings say what they are for the docs.
#include "fields.hpp"

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::record {

namespace {

using namespace table;

std::string checked_ipv4(const Value& v, const std::string& text) {
  try {
    return core::Ipv4::parse(text).to_string();
  } catch (const Error&) {
    v.fail("'" + text + "' is not an IPv4 address");
  }
}

std::string checked_ipv6(const Value& v, const std::string& text) {
  try {
    return core::Ipv6::parse(text).to_string();
  } catch (const Error&) {
    v.fail("'" + text + "' is not an IPv6 address");
  }
}

std::string checked_ip(const Value& v, const std::string& text) {
  return text.find(':') == std::string::npos ? checked_ipv4(v, text) : checked_ipv6(v, text);
}

core::Mac checked_mac(const Value& v) {
  const auto text = v.str();
  try {
    return core::Mac::parse(text);
  } catch (const Error&) {
    v.fail("'" + text + "' is not a MAC address like 02:00:c0:a8:7a:0a");
  }
}

template <class T>
Row<T> ipv4(std::string key, std::string T::*m, std::string meaning) {
  auto r = line(key, m, std::move(meaning));
  r.type = "IPv4";
  r.read = [m](const Value& v, T& t) { t.*m = checked_ipv4(v, v.str()); };
  return r;
}

Table<NetworkInterface> nic_fields() {
  using N = NetworkInterface;
  return {
      required(custom<N>(
          "mac", "MAC", "", "canonical lowercase; unique in the record",
          [](const Value& v, N& n) { n.mac = checked_mac(v).to_string(); },
          [](Json& o, const N& n) { o["mac"] = n.mac; })),
      always(integer("device-number", &N::device_number, 0, 255, "0 = the primary NIC"),
             [](const N& n) { return Json(n.device_number); }),
      integer("network-card-index", &N::network_card_index, 0, 255, ""),
      line("interface-id", &N::interface_id, "eni-..."),
      line("owner-id", &N::owner_id, "default: the record's account-id"),
      line("local-hostname", &N::local_hostname, "default for NIC 0: the record's"),
      lines("local-ipv4s", &N::local_ipv4s, "the first is the NIC's address", checked_ipv4),
      lines("public-ipv4s", &N::public_ipv4s, "", checked_ipv4),
      lines("ipv6s", &N::ipv6s, "", checked_ipv6),
      line("subnet-id", &N::subnet_id, ""),
      custom<N>(
          "subnet-ipv4-cidr-block", "IPv4 CIDR", "", "a.b.c.d/n",
          [](const Value& v, N& n) {
            n.subnet_ipv4_cidr_block = v.line();
            try {
              (void)core::Ipv4Cidr::parse(n.subnet_ipv4_cidr_block);
            } catch (const Error&) {
              v.fail("'" + n.subnet_ipv4_cidr_block + "' is not an IPv4 block like 10.0.0.0/24");
            }
          },
          [](Json& o, const N& n) {
            if (!n.subnet_ipv4_cidr_block.empty())
              o["subnet-ipv4-cidr-block"] = n.subnet_ipv4_cidr_block;
          }),
      lines("subnet-ipv6-cidr-blocks", &N::subnet_ipv6_cidr_blocks, ""),
      line("vpc-id", &N::vpc_id, ""),
      lines("vpc-ipv4-cidr-blocks", &N::vpc_ipv4_cidr_blocks, ""),
      lines("vpc-ipv6-cidr-blocks", &N::vpc_ipv6_cidr_blocks, ""),
      lines("security-groups", &N::security_groups, "default: the record's"),
      lines("security-group-ids", &N::security_group_ids, ""),
  };
}

Table<PublicKey> key_fields() {
  return {
      required(line("name", &PublicKey::name, "listed as `N=name`")),
      required(text("openssh-key", &PublicKey::openssh_key, "")),
  };
}

Table<IamCredentials> credential_fields() {
  using C = IamCredentials;
  return {
      line("AccessKeyId", &C::access_key_id, ""),
      line("SecretAccessKey", &C::secret_access_key, "secret: never logged"),
      line("Token", &C::token, "secret: never logged"),
      line("Expiration", &C::expiration, ""),
      line("LastUpdated", &C::last_updated, "default: iam.last-updated"),
  };
}

Table<Iam> iam_fields() {
  return {
      required(custom<Iam>(
          "role", "string", "", "no '/'",
          [](const Value& v, Iam& i) {
            i.role = v.line();
            if (i.role.empty() || i.role.find('/') != std::string::npos) {
              v.fail("is required and must not contain '/'");
            }
          },
          [](Json& o, const Iam& i) { o["role"] = i.role; })),
      line("instance-profile-arn", &Iam::instance_profile_arn, ""),
      line("instance-profile-id", &Iam::instance_profile_id, ""),
      line("last-updated", &Iam::last_updated, ""),
      optional_object("credentials", &Iam::credentials, credential_fields(),
                      "served at iam/security-credentials/ROLE"),
  };
}

Table<MetadataOptionsRecord> option_fields() {
  using O = MetadataOptionsRecord;
  return {
      choice<O, HttpTokens>(
          "http-tokens", &O::http_tokens,
          {{"optional", HttpTokens::Optional}, {"required", HttpTokens::Required}},
          "required = IMDSv2 only"),
      choice<O, HttpEndpoint>(
          "http-endpoint", &O::http_endpoint,
          {{"enabled", HttpEndpoint::Enabled}, {"disabled", HttpEndpoint::Disabled}}, ""),
      custom<O>(
          "http-put-response-hop-limit", "integer 1-64", "", "IP TTL of the token reply",
          [](const Value& v, O& o) { o.hop_limit = v.integer(1, 64); },
          [](Json& j, const O& o) {
            if (o.hop_limit) j["http-put-response-hop-limit"] = *o.hop_limit;
          }),
      choice<O, bool>("instance-metadata-tags", &O::instance_metadata_tags,
                      {{"enabled", true}, {"disabled", false}}, "tags/instance/* served"),
  };
}

Table<HostNic> host_nic_fields() {
  return {
      required(custom<HostNic>(
          "mac", "MAC", "", "the EC2 NIC it belongs to",
          [](const Value& v, HostNic& n) { n.mac = checked_mac(v); },
          [](Json& o, const HostNic& n) { o["mac"] = n.mac.to_string(); })),
      line("network", &HostNic::network, "the host's network (DHCP reservation, leases)"),
      custom<HostNic>(
          "gateway", "IPv4", "", "",
          [](const Value& v, HostNic& n) {
            n.gateway = core::Ipv4::parse(checked_ipv4(v, v.str()));
          },
          [](Json& o, const HostNic& n) { o["gateway"] = n.gateway.to_string(); }),
  };
}

Table<HostRecord> host_fields() {
  using H = HostRecord;
  return {
      always(line("kind", &H::kind, "which kind of host runs the VM"),
             [](const H& h) { return Json(h.kind); }),
      line("location", &H::location, "that host (libvirt URI); empty = the local default"),
      line("name", &H::name, "the VM's name there (libvirt domain name)"),
      objects("nics", &H::nics, host_nic_fields(), "one per NIC the host wires"),
      line("context-iso", &H::context_iso, "host path of the context CD"),
      line("cidata-iso", &H::cidata_iso, "host path of the NoCloud seed CD"),
      lines("overlays", &H::overlays,
            "disks the VM owns (`vm delete` removes them, as storage volumes when a pool "
            "knows them, else as files)"),
      lines("images", &H::images,
            "base images its disks use (`image delete` refuses while in use)"),
      line("console-log", &H::console_log, "serial console log file"),
      boolean("console-log-owned", &H::console_log_owned,
              "the log is in the instance directory: `vm delete` removes it"),
      boolean("vpn", &H::vpn,
              "a VPN profile was issued (CN = instance-id); `vm delete` revokes it"),
      line("placement", &H::placement,
           "why `vm create` put the VM on this host (each host's used/allowed figures)"),
      line("provider-id", &H::provider_id,
           "the instance at the provider (EC2 instance id); empty while being created"),
      line("elastic-ip-allocation", &H::elastic_ip_allocation, "EC2 Elastic IP (eipalloc-...)"),
      line("elastic-ip-association", &H::elastic_ip_association, "eipassoc-..."),
      boolean("elastic-ip-owned", &H::elastic_ip_owned,
              "allocated for the VM: `vm delete` releases it"),
      line("security-group", &H::security_group,
           "EC2 security group made for AUTHORIZED_PORTS; `vm delete` deletes it"),
      line("imported-key-pair", &H::imported_key_pair,
           "EC2 key pair imported from SSH_PUBLIC_KEY (kept: other VMs may use it)"),
  };
}

Table<Instance> placement_fields() {
  return {
      line("availability-zone", &Instance::availability_zone, ""),
      line("availability-zone-id", &Instance::availability_zone_id, ""),
      custom<Instance>(
          "region", "string", "", "default: the zone minus its letter",
          [](const Value& v, Instance& i) { i.region = v.line(); },
          [](Json& o, const Instance& i) {
            const auto& az = i.availability_zone;
            const bool derived = az.size() > 1 && i.region == az.substr(0, az.size() - 1);
            if (!derived && !i.region.empty()) o["region"] = i.region;
          }),
  };
}

Table<Instance> make_instance_fields() {
  using I = Instance;
  return {
      custom<I>(
          "record-version", "integer", "1", "2 since `host` replaced `x-cloudtwin-host`",
          [](const Value& v, I&) {
            if (v.integer(1, 1 << 20) > kRecordVersion) {
              v.fail("written by a newer cloudtwin (this one reads versions 1 to " +
                     std::to_string(kRecordVersion) + "): upgrade cloudtwin");
            }
          },
          [](Json& o, const I&) { o["record-version"] = kRecordVersion; }),
      required(custom<I>(
          "instance-id", "string", "", "`i-...` (letters, digits, `-_.`)",
          [](const Value& v, I& i) {
            i.instance_id = v.line();
            if (i.instance_id.empty() ||
                i.instance_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                                                "YZ0123456789-_.") != std::string::npos) {
              v.fail("is required and may hold only letters, digits, '-', '_' and '.'");
            }
          },
          [](Json& o, const I& i) { o["instance-id"] = i.instance_id; })),
      line("ami-id", &I::ami_id, ""),
      integer("ami-launch-index", &I::ami_launch_index, 0, 1 << 20, ""),
      line("ami-manifest-path", &I::ami_manifest_path, ""),
      line("instance-type", &I::instance_type, ""),
      line("instance-life-cycle", &I::instance_life_cycle, ""),
      line("instance-action", &I::instance_action, ""),
      line("local-hostname", &I::local_hostname, "default: hostname"),
      custom<I>(
          "hostname", "string", "", "default: local-hostname",
          [](const Value& v, I& i) { i.hostname = v.line(); },
          [](Json& o, const I& i) {
            if (i.hostname != i.local_hostname) o["hostname"] = i.hostname;
          }),
      custom<I>(
          "local-ipv4", "IPv4", "", "default: the primary NIC's first local-ipv4s",
          [](const Value& v, I& i) { i.local_ipv4 = checked_ipv4(v, v.str()); },
          [](Json& o, const I& i) {
            const auto* p = i.primary_interface();
            const bool derived =
                p && !p->local_ipv4s.empty() && p->local_ipv4s.front() == i.local_ipv4;
            if (!derived && !i.local_ipv4.empty()) o["local-ipv4"] = i.local_ipv4;
          }),
      line("public-hostname", &I::public_hostname, ""),
      ipv4("public-ipv4", &I::public_ipv4, ""),
      line("kernel-id", &I::kernel_id, "identity document `kernelId`"),
      line("ramdisk-id", &I::ramdisk_id, "identity document `ramdiskId`"),
      line("reservation-id", &I::reservation_id, ""),
      line("account-id", &I::account_id, "identity document `accountId`; NIC owner-id"),
      line("architecture", &I::architecture, "identity document `architecture`"),
      line("pending-time", &I::pending_time,
           "when the VM was created, ISO 8601 UTC; identity document `pendingTime`"),
      group("placement", placement_fields(), ""),
      group<I>(
          "services",
          {line("domain", &I::services_domain, ""), line("partition", &I::services_partition, "")},
          ""),
      names("block-device-mapping", &I::block_device_mapping,
            "`{\"ami\": \"/dev/xvda\", \"root\": \"/dev/xvda\", ...}`"),
      lines("security-groups", &I::security_groups, "names"),
      objects("network-interfaces", &I::interfaces, nic_fields(), "sorted by device-number"),
      objects("public-keys", &I::public_keys, key_fields(), "index = position"),
      custom<I>(
          "user-data", "text", "", "absent: `/latest/user-data` is 404",
          [](const Value& v, I& i) { i.user_data = v.str(); }, [](Json&, const I&) {}),
      custom<I>(
          "user-data-base64", "base64", "", "bytes; not with user-data",
          [](const Value& v, I& i) {
            try {
              i.user_data = core::base64_decode(v.str());
            } catch (const Error& e) {
              v.fail(std::string("is not valid base64: ") + e.what());
            }
          },
          [](Json& o, const I& i) {
            if (i.user_data) o["user-data-base64"] = core::base64_encode(*i.user_data);
          }),
      names("tags", &I::tags, "`{\"Name\": \"web\"}` -> `meta-data/tags/instance/Name`"),
      optional_object("iam", &I::iam, iam_fields(), "secret parts never logged"),
      object("metadata-options", &I::options_record, option_fields(),
             "a key left out takes the server's `[imds]` default"),
      line("network", &I::network,
           "device of the listener serving this VM (`--listen ...@br0`); empty = any"),
      lines("serve-to", &I::serve_to,
            "source addresses answered; default: every NIC's local-ipv4s and ipv6s", checked_ip),
      object("host", &I::host, host_fields(), "the host's bookkeeping; never served"),
  };
}

}  // namespace

const Table<Instance>& instance_fields() {
  static const auto fields = make_instance_fields();
  return fields;
}

}  // namespace cloudtwin::record
