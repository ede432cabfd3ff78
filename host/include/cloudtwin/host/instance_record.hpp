#pragma once
// The instance record: one JSON document per VM, stored in the domain's <metadata> under
// the cloudtwin namespace. cloudtwin-metadata serves EC2 metadata from it; `vm delete`
// finds from it what to release.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::host {

inline constexpr const char* kRecordNamespace = "https://cloudtwin.example.invalid/instance/1";
inline constexpr const char* kRecordPrefix = "cloudtwin";
inline constexpr const char* kRecordElement = "instance";

struct NicRecord {
  core::Mac mac;
  core::Ipv4 ip;
  int device_number = 0;
  std::string network;
  core::Ipv4Cidr subnet;
  core::Ipv4 gateway;
  auto operator<=>(const NicRecord&) const = default;
};

struct PublicKey {
  std::string name;
  std::string key;
  auto operator<=>(const PublicKey&) const = default;
};

struct InstanceRecord {
  std::string instance_id;  // i-0123456789abcdef0
  std::string name;         // libvirt domain name
  std::string ami_id;
  std::string instance_type;
  std::string hostname;
  std::vector<NicRecord> nics;
  std::vector<PublicKey> public_keys;
  std::string user_data;              // base64, may be empty
  std::string context_iso;            // host path of the context CD
  std::vector<std::string> overlays;  // host paths of disks this VM owns
  std::vector<std::string> images;    // names of the base images its disks use
  std::string cidata_iso;             // NoCloud seed CD, empty when none
  std::string console_log;            // serial console log file, empty when none
  bool console_log_owned = false;     // the log is in the instance dir: delete removes it
  bool vpn = false;                   // a VPN profile was issued (CN = instance_id)
  bool operator==(const InstanceRecord&) const = default;
};

// A JSON string literal (quotes included) with \" \\ and control characters escaped.
std::string json_quote(std::string_view text);

// Compact JSON, keys in a fixed order (see the report / docs for the field list).
std::string record_to_json(const InstanceRecord& record);
// Throws Error(InvalidArgument) for JSON that is not a record.
InstanceRecord record_from_json(std::string_view json);

// <cloudtwin:instance xmlns:cloudtwin="...">{escaped json}</cloudtwin:instance>
std::string record_metadata_element(const InstanceRecord& record);
// The JSON text inside an element as virDomainGetMetadata returns it.
InstanceRecord record_from_metadata_element(std::string_view xml);

}  // namespace cloudtwin::host
