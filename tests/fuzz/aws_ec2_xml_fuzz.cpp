// libFuzzer target for the readers of EC2 Query API answers. The first byte picks the
// reader, the rest is the answer. Beyond "no crash": a reader either returns or throws
// cloudtwin::Error, and parse_ec2_error never throws.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/aws/ec2_xml.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  namespace aws = cloudtwin::aws;
  const std::string_view xml(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)aws::parse_ec2_error(xml);
  try {
    switch (data[0] % 10) {
      case 0:
        (void)aws::parse_run_instances(xml);
        break;
      case 1:
        (void)aws::parse_describe_instances(xml);
        break;
      case 2:
        (void)aws::parse_instance_state_changes(xml, "TerminateInstances");
        break;
      case 3:
        try {
          (void)aws::parse_describe_addresses(xml);
        } catch (const cloudtwin::Error&) {
        }
        (void)aws::parse_allocate_address(xml);
        break;
      case 4:
        (void)aws::parse_associate_address(xml);
        break;
      case 5:
        (void)aws::parse_create_security_group(xml);
        break;
      case 6:
        (void)aws::parse_import_key_pair(xml);
        break;
      case 7:
        (void)aws::parse_describe_key_pairs(xml);
        break;
      case 8:
        (void)aws::parse_register_image(xml);
        break;
      default:
        (void)aws::parse_return(xml, "RebootInstances");
        break;
    }
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
