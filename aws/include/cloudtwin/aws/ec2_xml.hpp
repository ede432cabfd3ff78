#pragma once
// Readers of EC2 Query API answers (XML, any namespace) into the typed structs. Pure
// (Poco XML). Each throws Error(InvalidArgument) naming the action and what is missing
// when the answer is not the XML it should be. Fuzzed by tests/fuzz/aws_ec2_xml_fuzz.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/aws/ec2_types.hpp"

namespace cloudtwin::aws {

struct DescribeInstancesPage {
  std::vector<Reservation> reservations;
  std::string next_token;
};

Reservation parse_run_instances(std::string_view xml);
DescribeInstancesPage parse_describe_instances(std::string_view xml);
// StartInstances, StopInstances, TerminateInstances.
std::vector<InstanceStateChange> parse_instance_state_changes(std::string_view xml,
                                                              std::string_view action);
Address parse_allocate_address(std::string_view xml);
std::string parse_associate_address(std::string_view xml);
std::vector<Address> parse_describe_addresses(std::string_view xml);  // the association id
std::string parse_create_security_group(std::string_view xml);        // the group id
KeyPairInfo parse_import_key_pair(std::string_view xml);
std::vector<KeyPairInfo> parse_describe_key_pairs(std::string_view xml);
std::string parse_register_image(std::string_view xml);  // the image id
// <return>true</return> answers (RebootInstances, ReleaseAddress, ...): false when EC2
// said false.
bool parse_return(std::string_view xml, std::string_view action);
// <Response><Errors><Error><Code>...; nullopt when the text is not an EC2 error answer.
std::optional<Ec2ErrorInfo> parse_ec2_error(std::string_view xml) noexcept;

}  // namespace cloudtwin::aws
