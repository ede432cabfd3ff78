#pragma once
// Settings of cloudtwin-metadata: built-in defaults, then /etc/cloudtwin/metadata.conf
// (INI), then command-line flags. Pure: the caller reads the file.

#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/metadata/server.hpp"

namespace cloudtwin::metadata {

inline constexpr const char* kDefaultConfigFile = "/etc/cloudtwin/metadata.conf";

struct Config {
  std::vector<ListenSpec> listen = {{"169.254.169.254", 80, ""}, {"fd00:ec2::254", 80, ""}};
  // Where records come from: a directory when instances_dir is set (--records, [server]
  // instances_dir), else libvirt at libvirt_uri (--libvirt, [server] libvirt_uri).
  std::string instances_dir;
  std::string libvirt_uri = "qemu:///system";
  std::string ctl_socket = "/run/cloudtwin/metadata.sock";  // [server] ctl_socket; "" = none
  std::string identity_key = "/var/lib/cloudtwin/metadata/identity.key";
  std::string identity_cert = "/var/lib/cloudtwin/metadata/identity.crt";
  bool access_log = false;
  unsigned threads = 1;
  bool neighbor_check = true;  // [server] neighbor_check: caller's MAC from the kernel
  // [imds]: defaults for records that leave metadata-options out, and the token TTL cap.
  MetadataOptions record_defaults;  // default_hop_limit, allow_imdsv1 (-> http-tokens)
  int token_ttl_max = 21600;
  LimitOptions limits;  // [limits] requests_per_second, burst, connections_per_vm
};

// Applies "[section] key = value" lines ('#' and ';' start comments). Known keys:
// [server] listen (space-separated ListenSpecs), instances_dir, libvirt_uri, ctl_socket,
// access_log, threads, neighbor_check; [identity] key, cert; [imds] token_ttl_max,
// default_hop_limit, allow_imdsv1; [limits] requests_per_second, burst,
// connections_per_vm. Unknown keys come back as warnings "source:line: ...".
// Throws Error(InvalidArgument) with source:line for a malformed line or value.
std::vector<std::string> apply_ini(Config& config, std::string_view text,
                                   const std::string& source);

}  // namespace cloudtwin::metadata
