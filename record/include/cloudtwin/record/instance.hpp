#pragma once
// The instance record: what one VM is, for every part of cloudtwin. The EC2-facing part
// is what cloudtwin-metadata serves (keys named after the EC2 metadata paths they feed);
// `host` is the host's bookkeeping (where the VM runs and what it owns), never served.
// One JSON object per VM (docs/instance-record.md); one field table (src/fields.cpp)
// drives parsing, writing, validation and the documentation's key list. Pure.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::record {

// The version this release writes as "record-version". Records without the key were
// written by the release before (host bookkeeping under "x-cloudtwin-host", snake_case)
// and are read as such.
inline constexpr int kRecordVersion = 2;

enum class HttpTokens { Optional, Required };
enum class HttpEndpoint { Enabled, Disabled };

struct MetadataOptions {
  HttpTokens http_tokens = HttpTokens::Optional;
  HttpEndpoint http_endpoint = HttpEndpoint::Enabled;
  int hop_limit = 1;                   // IP TTL of token PUT replies, 1-64
  bool instance_metadata_tags = true;  // tags/instance/* served
  bool operator==(const MetadataOptions&) const = default;
};

// metadata-options as a record writes them: keys left out take the server's [imds]
// defaults, so the record keeps "unset" apart from "set to the default".
struct MetadataOptionsRecord {
  std::optional<HttpTokens> http_tokens;
  std::optional<HttpEndpoint> http_endpoint;
  std::optional<int> hop_limit;
  std::optional<bool> instance_metadata_tags;
  MetadataOptions resolve(const MetadataOptions& defaults) const;
  bool operator==(const MetadataOptionsRecord&) const = default;
};

struct NetworkInterface {
  std::string mac;  // canonical lowercase aa:bb:cc:dd:ee:ff
  int device_number = 0;
  int network_card_index = 0;
  std::string interface_id;
  std::string owner_id;
  std::string local_hostname;
  std::vector<std::string> local_ipv4s;
  std::vector<std::string> public_ipv4s;
  std::vector<std::string> ipv6s;
  std::string subnet_id;
  std::string subnet_ipv4_cidr_block;
  std::vector<std::string> subnet_ipv6_cidr_blocks;
  std::string vpc_id;
  std::vector<std::string> vpc_ipv4_cidr_blocks;
  std::vector<std::string> vpc_ipv6_cidr_blocks;
  std::vector<std::string> security_groups;
  std::vector<std::string> security_group_ids;
  bool operator==(const NetworkInterface&) const = default;
};

struct PublicKey {
  std::string name;
  std::string openssh_key;
  bool operator==(const PublicKey&) const = default;
};

// The role's temporary credentials. Secret: never logged, never in an error message.
struct IamCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  std::string expiration;
  std::string last_updated;
  bool operator==(const IamCredentials&) const = default;
};

struct Iam {
  std::string role;
  std::string instance_profile_arn;
  std::string instance_profile_id;
  std::string last_updated;
  std::optional<IamCredentials> credentials;
  bool operator==(const Iam&) const = default;
};

// Host-side facts of one NIC, matched to the EC2 NIC by MAC.
struct HostNic {
  core::Mac mac;
  std::string network;  // the host's network name (libvirt network)
  core::Ipv4 gateway;
  bool operator==(const HostNic&) const = default;
};

// The host's bookkeeping: where the VM runs and what it owns (`vm delete`, image use,
// leases). Never served by the metadata service.
struct HostRecord {
  std::string kind = "libvirt";  // which kind of host runs the VM
  std::string location;          // that host (a libvirt URI); empty = the local default
  std::string name;              // the VM's name there (libvirt domain name)
  std::vector<HostNic> nics;
  std::string context_iso;            // host path of the context CD
  std::string cidata_iso;             // NoCloud seed CD, empty when none
  std::vector<std::string> overlays;  // host paths of disks this VM owns
  std::vector<std::string> images;    // names of the base images its disks use
  std::string console_log;            // serial console log file, empty when none
  bool console_log_owned = false;     // the log is in the instance dir: delete removes it
  bool vpn = false;                   // a VPN profile was issued (CN = instance-id)
  std::string placement;              // why the VM runs on this host (`vm create`'s decision)
  // A provider's own objects (EC2): what `vm delete` terminates, releases and deletes.
  std::string provider_id;            // the instance there (EC2 instance id); empty: not yet
  std::string elastic_ip_allocation;  // eipalloc-... associated with the instance
  std::string elastic_ip_association;
  bool elastic_ip_owned = false;  // allocated by cloudtwin: `vm delete` releases it
  std::string security_group;     // created by cloudtwin (AUTHORIZED_PORTS): deleted with the VM
  std::string imported_key_pair;  // imported by cloudtwin (KEYPAIR + SSH_PUBLIC_KEY); kept
  bool operator==(const HostRecord&) const = default;
};

// One NIC as the host uses it: the EC2 NIC joined with its HostNic.
struct NicRecord {
  core::Mac mac;
  core::Ipv4 ip;
  int device_number = 0;
  std::string network;
  core::Ipv4Cidr subnet;
  core::Ipv4 gateway;
  auto operator<=>(const NicRecord&) const = default;
};

struct Instance {
  std::string instance_id;
  std::string ami_id;
  int ami_launch_index = 0;
  std::string ami_manifest_path = "(unknown)";
  std::string instance_type;
  std::string instance_life_cycle = "on-demand";
  std::string instance_action = "none";
  std::string hostname;
  std::string local_hostname;
  std::string local_ipv4;
  std::string public_hostname;
  std::string public_ipv4;
  std::string kernel_id;
  std::string ramdisk_id;
  std::string reservation_id;
  std::string account_id;
  std::string architecture = "x86_64";
  std::string pending_time;  // ISO 8601 UTC: when the VM was created
  std::string availability_zone;
  std::string availability_zone_id;
  std::string region;
  std::string services_domain = "amazonaws.com";
  std::string services_partition = "aws";
  std::map<std::string, std::string> block_device_mapping;  // ami, root, ebs0, ...
  std::vector<std::string> security_groups;
  std::vector<NetworkInterface> interfaces;  // sorted by device_number
  std::vector<PublicKey> public_keys;        // index = position
  std::optional<std::string> user_data;      // raw bytes
  std::map<std::string, std::string> tags;
  std::optional<Iam> iam;
  MetadataOptionsRecord options_record;  // as written in the record
  MetadataOptions options;               // effective: options_record over the defaults
  // Who is served this record: the listener (host bridge / device name, empty = any)
  // and the source addresses (default: every NIC's local-ipv4s and ipv6s).
  std::string network;
  std::vector<std::string> serve_to;
  HostRecord host;  // never served
  // Top-level "x-..." keys, kept as compact JSON text: never served, written back as-is.
  std::map<std::string, std::string> extensions;

  // The primary NIC (device-number 0, else the first), or nullptr.
  const NetworkInterface* primary_interface() const noexcept;
  // Source addresses the record answers: serve_to if set, else the NICs' addresses.
  std::vector<std::string> caller_addresses() const;
  // EC2 NICs with a first local-ipv4 and a subnet block, joined with `host.nics`.
  std::vector<NicRecord> nics() const;
  bool operator==(const Instance&) const = default;
};

// Parses and validates one record (this release's or the one before). `source` names
// the input in error messages (a file name, a domain). `defaults` fill the
// metadata-options the record leaves out ([imds] default_hop_limit, allow_imdsv1 = false
// -> http-tokens required). Throws Error(InvalidArgument) naming the source and the key.
Instance parse_instance_json(std::string_view json, const std::string& source,
                             const MetadataOptions& defaults = {});

// The record as compact JSON, keys in the field table's order, "record-version" first
// and x- keys last, such that parse_instance_json(instance_to_json(i)) == i for every
// parsed record: keys holding what parsing would derive anyway (region from the zone,
// local-ipv4 from the primary NIC, defaults) are left out; user-data is written as
// user-data-base64; metadata-options come from options_record (what was set).
std::string instance_to_json(const Instance& instance);

// "2017-09-18T08:22:00Z": a time as the record's pending-time and EC2 write it.
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// The record's keys as a Markdown table (key, type, default, meaning), generated from
// the field table; docs/instance-record.md holds a copy (checked by record_test).
std::string field_table_markdown();

}  // namespace cloudtwin::record
