#pragma once
// The EC2 objects cloudtwin reads and writes, as typed structs (API version 2016-11-15).
// Only the fields cloudtwin uses; the XML readers ignore the rest.

#include <map>
#include <string>
#include <vector>

namespace cloudtwin::aws {

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct Instance {
  std::string instance_id;
  std::string image_id;
  std::string state;  // pending, running, shutting-down, terminated, stopping, stopped
  int state_code = 0;
  std::string instance_type;
  std::string key_name;
  std::string private_ip;
  std::string public_ip;
  std::string subnet_id;
  std::string vpc_id;
  std::string availability_zone;
  std::string launch_time;
  std::string client_token;
  std::string state_reason;  // stateReason/message, when EC2 gives one
  std::vector<std::string> security_group_ids;
  std::vector<Tag> tags;
};

struct Reservation {
  std::string reservation_id;
  std::string owner_id;
  std::vector<Instance> instances;
};

struct InstanceStateChange {
  std::string instance_id;
  std::string previous_state;
  std::string current_state;
};

struct Address {
  std::string public_ip;
  std::string allocation_id;
  std::string domain;  // "vpc"
  std::string association_id;
  std::string instance_id;
};

struct KeyPairInfo {
  std::string key_name;
  std::string key_fingerprint;
  std::string key_pair_id;
};

struct IpPermission {
  std::string protocol = "tcp";
  int from_port = 0;
  int to_port = 0;
  std::string cidr = "0.0.0.0/0";
};

struct MetadataOptions {
  std::string http_tokens;              // "required" / "optional"; empty = EC2's default
  std::string http_endpoint;            // "enabled" / "disabled"
  int http_put_response_hop_limit = 0;  // 0 = EC2's default
};

struct RunInstancesRequest {
  std::string image_id;
  std::string instance_type;
  std::string key_name;
  std::string subnet_id;
  std::vector<std::string> security_group_ids;
  std::string user_data;  // raw bytes; the client base64-encodes them
  std::vector<Tag> tags;  // applied to the instance at launch
  MetadataOptions metadata_options;
  // Idempotency: a second RunInstances with the same token returns the first's instances
  // instead of starting more. Empty = none (the caller should always set one).
  std::string client_token;
  int min_count = 1;
  int max_count = 1;
};

struct DescribeInstancesRequest {
  std::vector<std::string> instance_ids;
  std::map<std::string, std::vector<std::string>> filters;  // "client-token" -> {token}
  int max_results = 0;                                      // 0 = EC2's default page size
};

struct RegisterImageRequest {
  std::string name;
  std::string description;
  std::string image_location;  // bucket/path/manifest.xml (AMI bundles, issue 12)
  std::string architecture;    // "x86_64"
  std::string root_device_name;
  std::string virtualization_type;  // "hvm"
};

// The <Errors> of an EC2 answer.
struct Ec2ErrorInfo {
  std::string code;  // "InvalidAMIID.NotFound"
  std::string message;
  std::string request_id;
};

}  // namespace cloudtwin::aws
