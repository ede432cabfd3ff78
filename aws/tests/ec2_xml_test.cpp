// EC2 answers as the EC2 API reference shows them (namespace, item lists, nested
// states), read into structs; malformed answers refused with the action named.
#include <gtest/gtest.h>

#include "cloudtwin/aws/ec2_xml.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

constexpr const char* kRunInstances = R"(<?xml version="1.0" encoding="UTF-8"?>
<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <reservationId>r-1234567890abcdef0</reservationId>
  <ownerId>123456789012</ownerId>
  <groupSet/>
  <instancesSet>
    <item>
      <instanceId>i-1234567890abcdef0</instanceId>
      <imageId>ami-bff32ccc</imageId>
      <instanceState><code>0</code><name>pending</name></instanceState>
      <privateDnsName/>
      <keyName>ops</keyName>
      <amiLaunchIndex>0</amiLaunchIndex>
      <instanceType>t3.micro</instanceType>
      <launchTime>2026-12-05T08:00:00.000Z</launchTime>
      <placement><availabilityZone>eu-west-1a</availabilityZone><tenancy>default</tenancy></placement>
      <subnetId>subnet-56f5f633</subnetId>
      <vpcId>vpc-11112222</vpcId>
      <privateIpAddress>172.31.20.2</privateIpAddress>
      <groupSet><item><groupId>sg-1a2b3c4d</groupId><groupName>web</groupName></item>
                <item><groupId>sg-99</groupId><groupName>ssh</groupName></item></groupSet>
      <stateReason><code>pending</code><message>pending</message></stateReason>
      <clientToken>cloudtwin-web-1f2e</clientToken>
      <tagSet><item><key>Name</key><value>web &amp; co</value></item></tagSet>
    </item>
  </instancesSet>
</RunInstancesResponse>)";

TEST(Ec2Xml, RunInstances) {
  const auto r = parse_run_instances(kRunInstances);
  EXPECT_EQ(r.reservation_id, "r-1234567890abcdef0");
  EXPECT_EQ(r.owner_id, "123456789012");
  ASSERT_EQ(r.instances.size(), 1U);
  const auto& i = r.instances[0];
  EXPECT_EQ(i.instance_id, "i-1234567890abcdef0");
  EXPECT_EQ(i.image_id, "ami-bff32ccc");
  EXPECT_EQ(i.state, "pending");
  EXPECT_EQ(i.state_code, 0);
  EXPECT_EQ(i.key_name, "ops");
  EXPECT_EQ(i.instance_type, "t3.micro");
  EXPECT_EQ(i.availability_zone, "eu-west-1a");
  EXPECT_EQ(i.subnet_id, "subnet-56f5f633");
  EXPECT_EQ(i.vpc_id, "vpc-11112222");
  EXPECT_EQ(i.private_ip, "172.31.20.2");
  EXPECT_EQ(i.public_ip, "");
  EXPECT_EQ(i.client_token, "cloudtwin-web-1f2e");
  EXPECT_EQ(i.state_reason, "pending");
  EXPECT_EQ(i.security_group_ids, (std::vector<std::string>{"sg-1a2b3c4d", "sg-99"}));
  EXPECT_EQ(i.tags, (std::vector<Tag>{{"Name", "web & co"}}));
}

TEST(Ec2Xml, DescribeInstancesPages) {
  const auto page = parse_describe_instances(R"(<DescribeInstancesResponse
      xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId>
    <reservationSet>
      <item><reservationId>r-1</reservationId><ownerId>1</ownerId><instancesSet>
        <item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name>
          </instanceState><ipAddress>203.0.113.7</ipAddress></item>
        <item><instanceId>i-2</instanceId><instanceState><code>80</code><name>stopped</name>
          </instanceState></item></instancesSet></item>
      <item><reservationId>r-2</reservationId><instancesSet>
        <item><instanceId>i-3</instanceId></item></instancesSet></item>
    </reservationSet><nextToken>page-2</nextToken></DescribeInstancesResponse>)");
  ASSERT_EQ(page.reservations.size(), 2U);
  ASSERT_EQ(page.reservations[0].instances.size(), 2U);
  EXPECT_EQ(page.reservations[0].instances[0].state, "running");
  EXPECT_EQ(page.reservations[0].instances[0].state_code, 16);
  EXPECT_EQ(page.reservations[0].instances[0].public_ip, "203.0.113.7");
  EXPECT_EQ(page.reservations[0].instances[1].state, "stopped");
  EXPECT_EQ(page.reservations[1].instances[0].instance_id, "i-3");
  EXPECT_EQ(page.next_token, "page-2");
  const auto empty = parse_describe_instances(
      "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>");
  EXPECT_TRUE(empty.reservations.empty());
  EXPECT_EQ(empty.next_token, "");
}

TEST(Ec2Xml, StateChanges) {
  const auto changes = parse_instance_state_changes(R"(<TerminateInstancesResponse
      xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><instancesSet><item>
      <instanceId>i-1</instanceId><currentState><code>32</code><name>shutting-down</name>
      </currentState><previousState><code>16</code><name>running</name></previousState>
      </item></instancesSet></TerminateInstancesResponse>)",
                                                    "TerminateInstances");
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].instance_id, "i-1");
  EXPECT_EQ(changes[0].previous_state, "running");
  EXPECT_EQ(changes[0].current_state, "shutting-down");
}

TEST(Ec2Xml, SmallAnswers) {
  const auto address = parse_allocate_address(
      "<AllocateAddressResponse xmlns='http://ec2.amazonaws.com/doc/2016-11-15/'><publicIp>"
      "198.51.100.1</publicIp><domain>vpc</domain><allocationId>eipalloc-5723d13e</allocationId>"
      "</AllocateAddressResponse>");
  EXPECT_EQ(address.public_ip, "198.51.100.1");
  EXPECT_EQ(address.allocation_id, "eipalloc-5723d13e");
  EXPECT_EQ(address.domain, "vpc");
  EXPECT_EQ(parse_associate_address("<AssociateAddressResponse><return>true</return>"
                                    "<associationId>eipassoc-1</associationId>"
                                    "</AssociateAddressResponse>"),
            "eipassoc-1");
  EXPECT_EQ(parse_create_security_group(
                "<CreateSecurityGroupResponse><return>true</return><groupId>sg-1</groupId>"
                "</CreateSecurityGroupResponse>"),
            "sg-1");
  const auto key = parse_import_key_pair(
      "<ImportKeyPairResponse><keyName>ops</keyName><keyFingerprint>1f:51</keyFingerprint>"
      "<keyPairId>key-1</keyPairId></ImportKeyPairResponse>");
  EXPECT_EQ(key.key_name, "ops");
  EXPECT_EQ(key.key_fingerprint, "1f:51");
  EXPECT_EQ(key.key_pair_id, "key-1");
  const auto keys = parse_describe_key_pairs(
      "<DescribeKeyPairsResponse><keySet><item><keyName>a</keyName></item><item><keyName>b"
      "</keyName></item></keySet></DescribeKeyPairsResponse>");
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[1].key_name, "b");
  EXPECT_EQ(parse_register_image("<RegisterImageResponse><imageId>ami-1</imageId>"
                                 "</RegisterImageResponse>"),
            "ami-1");
  EXPECT_TRUE(
      parse_return("<RebootInstancesResponse><return>true</return>"
                   "</RebootInstancesResponse>",
                   "RebootInstances"));
  EXPECT_FALSE(parse_return("<R><return>false</return></R>", "ReleaseAddress"));
}

TEST(Ec2Xml, ErrorAnswer) {
  const auto e = parse_ec2_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
      "InvalidAMIID.NotFound</Code><Message>The image id '[ami-1]' does not exist</Message>"
      "</Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "InvalidAMIID.NotFound");
  EXPECT_EQ(e->message, "The image id '[ami-1]' does not exist");
  EXPECT_EQ(e->request_id, "ea966190-f9aa-478e-9ede-example");
  EXPECT_FALSE(parse_ec2_error("<html>503</html>").has_value());
  EXPECT_FALSE(parse_ec2_error("not xml").has_value());
  EXPECT_FALSE(parse_ec2_error("").has_value());
}

std::string error_of(void (*f)()) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Ec2Xml, MalformedAnswersNameTheAction) {
  EXPECT_EQ(error_of([] { parse_run_instances("<RunInstancesResponse/>"); }),
            "EC2 RunInstances answer: no instance in <instancesSet>");
  EXPECT_EQ(error_of([] {
              parse_run_instances(
                  "<RunInstancesResponse><instancesSet><item><imageId>a</imageId></item>"
                  "</instancesSet></RunInstancesResponse>");
            }),
            "EC2 RunInstances answer: no <instanceId> in the answer");
  EXPECT_EQ(error_of([] { parse_allocate_address("<AllocateAddressResponse/>"); }),
            "EC2 AllocateAddress answer: no <publicIp> in the answer");
  EXPECT_EQ(error_of([] { parse_return("<R><return>maybe</return></R>", "ReleaseAddress"); }),
            "EC2 ReleaseAddress answer: <return> is neither true nor false");
  EXPECT_EQ(
      error_of([] { parse_describe_instances("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"); }),
      "EC2 DescribeInstances answer: the answer has a DTD, which EC2 never sends");
  EXPECT_EQ(error_of([] {
              parse_describe_instances(
                  "<Response><Errors><Error><Code>X</Code></Error></Errors></Response>");
            }),
            "EC2 DescribeInstances answer: an error answer");
  EXPECT_NE(error_of([] {
              parse_register_image("<a><b></a>");
            }).find("EC2 RegisterImage answer: not well-formed XML"),
            std::string::npos);
}

}  // namespace
}  // namespace cloudtwin::aws
