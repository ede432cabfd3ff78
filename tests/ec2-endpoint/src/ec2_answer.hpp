#pragma once
// Internal to the test endpoint: EC2's answer shapes as text (the endpoint writes XML
// by hand so that it shows exactly what EC2 sends) and its error answer.

#include <string>
#include <string_view>

#include "cloudtwin/aws/ec2_types.hpp"
#include "cloudtwin/aws/http_client.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::ec2test {

inline constexpr std::string_view kEc2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

// <name>escaped value</name>
std::string element(std::string_view name, std::string_view value);

// <ActionResponse xmlns=...><requestId>ID</requestId>BODY</ActionResponse>, status 200.
aws::HttpResponse ok(std::string_view action, std::string_view request_id, std::string_view body);
// <Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors>
// <RequestID>..</RequestID></Response>
aws::HttpResponse ec2_error(int status, std::string_view code, std::string_view message,
                            std::string_view request_id);

// An <item> of instancesSet as RunInstances and DescribeInstances write it.
std::string instance_item(const aws::Instance& instance);
// An <item> of instancesSet as Start/Stop/TerminateInstances write it.
std::string state_change_item(std::string_view id, std::string_view previous, int previous_code,
                              std::string_view current, int current_code);

}  // namespace cloudtwin::ec2test
