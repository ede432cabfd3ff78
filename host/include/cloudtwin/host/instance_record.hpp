#pragma once
// The instance record: one JSON document per VM, stored in the domain's <metadata> under
// the cloudtwin namespace, in the format cloudtwin-metadata serves EC2 metadata from
// (docs/instance-record.md; struct and JSON in cloudtwin_instance_record). What only the
// host needs (`vm delete`, image use, leases) rides along under "x-cloudtwin-host".

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/metadata/instance.hpp"
#include "cloudtwin/metadata/instance_element.hpp"

namespace cloudtwin::host {

using metadata::kRecordNamespace;
inline constexpr const char* kHostExtension = "x-cloudtwin-host";

// Host-side facts of one NIC, matched to the EC2 NIC by MAC.
struct HostNic {
  core::Mac mac;
  std::string network;  // libvirt network name
  core::Ipv4 gateway;
  auto operator<=>(const HostNic&) const = default;
};

// "x-cloudtwin-host": bookkeeping the metadata server ignores.
struct HostRecord {
  std::string name;  // libvirt domain name
  std::vector<HostNic> nics;
  std::string context_iso;            // host path of the context CD
  std::vector<std::string> overlays;  // host paths of disks this VM owns
  std::vector<std::string> images;    // names of the base images its disks use
  std::string cidata_iso;             // NoCloud seed CD, empty when none
  std::string console_log;            // serial console log file, empty when none
  bool console_log_owned = false;     // the log is in the instance dir: delete removes it
  bool vpn = false;                   // a VPN profile was issued (CN = instance-id)
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

struct InstanceRecord {
  metadata::Instance ec2;  // extensions never hold kHostExtension: that is `host`
  HostRecord host;

  const std::string& instance_id() const { return ec2.instance_id; }
  const std::string& name() const { return host.name; }
  // EC2 NICs with a first local-ipv4 and a subnet block, joined with `host.nics`.
  std::vector<NicRecord> nics() const;
  bool operator==(const InstanceRecord&) const = default;
};

// A JSON string literal (quotes included) with \" \\ and control characters escaped.
std::string json_quote(std::string_view text);

// The record's JSON (metadata::instance_to_json with x-cloudtwin-host added).
std::string record_to_json(const InstanceRecord& record);
// Throws Error(InvalidArgument) for JSON that is not a valid record.
InstanceRecord record_from_json(std::string_view json);

// <cloudtwin:instance xmlns:cloudtwin="...">{escaped json}</cloudtwin:instance>
std::string record_metadata_element(const InstanceRecord& record);
// The JSON text inside an element as virDomainGetMetadata returns it.
InstanceRecord record_from_metadata_element(std::string_view xml);

}  // namespace cloudtwin::host
