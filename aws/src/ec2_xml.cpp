#include "cloudtwin/aws/ec2_xml.hpp"

#include <charconv>

#include "cloudtwin/core/error.hpp"
#include "xml_reader.hpp"

namespace cloudtwin::aws {

namespace {

using xml::Element;

std::string what_of(std::string_view action) { return "EC2 " + std::string(action) + " answer"; }

int to_int(const std::string& s) {
  int value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value;
}

Instance read_instance(const Element& e, std::string_view what) {
  Instance out;
  out.instance_id = xml::required(e, "instanceId", what);
  out.image_id = xml::text(e, "imageId");
  out.state = xml::text(e, "instanceState", "name");
  out.state_code = to_int(xml::text(e, "instanceState", "code"));
  out.instance_type = xml::text(e, "instanceType");
  out.key_name = xml::text(e, "keyName");
  out.private_ip = xml::text(e, "privateIpAddress");
  out.public_ip = xml::text(e, "ipAddress");
  out.subnet_id = xml::text(e, "subnetId");
  out.vpc_id = xml::text(e, "vpcId");
  out.availability_zone = xml::text(e, "placement", "availabilityZone");
  out.launch_time = xml::text(e, "launchTime");
  out.client_token = xml::text(e, "clientToken");
  out.state_reason = xml::text(e, "stateReason", "message");
  for (const auto* group : xml::items(e, "groupSet")) {
    out.security_group_ids.push_back(xml::text(*group, "groupId"));
  }
  for (const auto* tag : xml::items(e, "tagSet")) {
    out.tags.push_back({xml::text(*tag, "key"), xml::text(*tag, "value")});
  }
  return out;
}

Reservation read_reservation(const Element& e, std::string_view what) {
  Reservation out;
  out.reservation_id = xml::text(e, "reservationId");
  out.owner_id = xml::text(e, "ownerId");
  for (const auto* item : xml::items(e, "instancesSet")) {
    out.instances.push_back(read_instance(*item, what));
  }
  return out;
}

KeyPairInfo read_key_pair(const Element& e, std::string_view what) {
  return {xml::required(e, "keyName", what), xml::text(e, "keyFingerprint"),
          xml::text(e, "keyPairId")};
}

// The root of an answer, refusing an error answer that reached a reader.
const Element& answer_root(const xml::Document& doc, std::string_view what) {
  const auto& root = doc.root();
  if (root.localName() == "Response" && xml::child(root, "Errors") != nullptr) {
    throw Error(ErrorCode::InvalidArgument, std::string(what) + ": an error answer");
  }
  return root;
}

}  // namespace

Reservation parse_run_instances(std::string_view text) {
  const auto what = what_of("RunInstances");
  const xml::Document doc(text, what);
  auto out = read_reservation(answer_root(doc, what), what);
  if (out.instances.empty()) {
    throw Error(ErrorCode::InvalidArgument, what + ": no instance in <instancesSet>");
  }
  return out;
}

DescribeInstancesPage parse_describe_instances(std::string_view text) {
  const auto what = what_of("DescribeInstances");
  const xml::Document doc(text, what);
  const auto& root = answer_root(doc, what);
  DescribeInstancesPage out;
  for (const auto* item : xml::items(root, "reservationSet")) {
    out.reservations.push_back(read_reservation(*item, what));
  }
  out.next_token = xml::text(root, "nextToken");
  return out;
}

std::vector<InstanceStateChange> parse_instance_state_changes(std::string_view text,
                                                              std::string_view action) {
  const auto what = what_of(action);
  const xml::Document doc(text, what);
  std::vector<InstanceStateChange> out;
  for (const auto* item : xml::items(answer_root(doc, what), "instancesSet")) {
    out.push_back({xml::required(*item, "instanceId", what),
                   xml::text(*item, "previousState", "name"),
                   xml::text(*item, "currentState", "name")});
  }
  return out;
}

Address parse_allocate_address(std::string_view text) {
  const auto what = what_of("AllocateAddress");
  const xml::Document doc(text, what);
  const auto& root = answer_root(doc, what);
  Address out;
  out.public_ip = xml::required(root, "publicIp", what);
  out.allocation_id = xml::text(root, "allocationId");
  out.domain = xml::text(root, "domain");
  return out;
}

std::vector<Address> parse_describe_addresses(std::string_view text) {
  const auto what = what_of("DescribeAddresses");
  const xml::Document doc(text, what);
  std::vector<Address> out;
  for (const auto* item : xml::items(answer_root(doc, what), "addressesSet")) {
    Address a;
    a.public_ip = xml::required(*item, "publicIp", what);
    a.allocation_id = xml::text(*item, "allocationId");
    a.domain = xml::text(*item, "domain");
    a.association_id = xml::text(*item, "associationId");
    a.instance_id = xml::text(*item, "instanceId");
    out.push_back(std::move(a));
  }
  return out;
}

std::string parse_associate_address(std::string_view text) {
  const auto what = what_of("AssociateAddress");
  const xml::Document doc(text, what);
  return xml::required(answer_root(doc, what), "associationId", what);
}

std::string parse_create_security_group(std::string_view text) {
  const auto what = what_of("CreateSecurityGroup");
  const xml::Document doc(text, what);
  return xml::required(answer_root(doc, what), "groupId", what);
}

KeyPairInfo parse_import_key_pair(std::string_view text) {
  const auto what = what_of("ImportKeyPair");
  const xml::Document doc(text, what);
  return read_key_pair(answer_root(doc, what), what);
}

std::vector<KeyPairInfo> parse_describe_key_pairs(std::string_view text) {
  const auto what = what_of("DescribeKeyPairs");
  const xml::Document doc(text, what);
  std::vector<KeyPairInfo> out;
  for (const auto* item : xml::items(answer_root(doc, what), "keySet")) {
    out.push_back(read_key_pair(*item, what));
  }
  return out;
}

std::string parse_register_image(std::string_view text) {
  const auto what = what_of("RegisterImage");
  const xml::Document doc(text, what);
  return xml::required(answer_root(doc, what), "imageId", what);
}

bool parse_return(std::string_view text, std::string_view action) {
  const auto what = what_of(action);
  const xml::Document doc(text, what);
  const auto value = xml::required(answer_root(doc, what), "return", what);
  if (value != "true" && value != "false") {
    throw Error(ErrorCode::InvalidArgument, what + ": <return> is neither true nor false");
  }
  return value == "true";
}

std::optional<Ec2ErrorInfo> parse_ec2_error(std::string_view text) noexcept {
  try {
    const xml::Document doc(text, "EC2 error answer");
    const auto& root = doc.root();
    const auto* errors = xml::child(root, "Errors");
    const auto* error = errors == nullptr ? nullptr : xml::child(*errors, "Error");
    if (error == nullptr) return std::nullopt;
    Ec2ErrorInfo out{xml::text(*error, "Code"), xml::text(*error, "Message"),
                     xml::text(root, "RequestID")};
    if (out.request_id.empty()) out.request_id = xml::text(root, "RequestId");
    if (out.code.empty()) return std::nullopt;
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace cloudtwin::aws
