#pragma once
// The user-data an EC2 instance of a cloudtwin template is given: one MIME multipart
// (multipart/mixed) that both kinds of image read, so the same template contextualizes
// an image with cloud-init or with cloudtwin-agent on EC2 as it does at home:
//   1. a #cloud-config (text/cloud-config) with the hostname and the SSH keys;
//   2. the template's USER_DATA, split into its parts when it is MIME itself (each kept
//      with its content type: scripts, cloud-config, boothooks ...);
//   3. with VPN = YES, the overlay profile as application/x-openvpn-profile, the part
//      cloudtwin-agent's vpn step installs (cloud-init ignores the type).
// gzip-compressed when the text passes EC2's 16 KiB limit (cloud-init and the agent both
// gunzip user-data). Pure (Poco's MIME writer, yaml-cpp for the cloud-config).

#include <optional>
#include <string>
#include <vector>

namespace cloudtwin::host {

struct Ec2UserDataInput {
  std::string hostname;
  std::vector<std::string> ssh_keys;     // OpenSSH public keys
  std::optional<std::string> user_data;  // the template's USER_DATA, as bytes
  std::string vpn_profile;               // empty: no VPN part
  std::string boundary = "cloudtwin-ec2-user-data";
};

inline constexpr std::size_t kEc2UserDataLimit = 16 * 1024;

// Throws Error(UserDataTooLarge) when even gzipped it passes kEc2UserDataLimit, and the
// user-data decoding errors of a malformed USER_DATA.
std::string ec2_user_data(const Ec2UserDataInput& input);

// The #cloud-config part alone (hostname, ssh_authorized_keys).
std::string ec2_cloud_config(const Ec2UserDataInput& input);

}  // namespace cloudtwin::host
