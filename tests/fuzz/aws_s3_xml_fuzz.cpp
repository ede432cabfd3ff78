// libFuzzer target for what `image import s3://...` reads from outside: S3 error documents
// (any answer body) and s3:// locations. parse_s3_error and describe_s3_failure never
// throw; parse_s3_uri returns or throws cloudtwin::Error, and what it accepts round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cloudtwin/aws/s3.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace aws = cloudtwin::aws;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto info = aws::parse_s3_error(text);
  if (info && info->code.empty()) std::abort();
  const aws::S3Location where{"bucket", "key"};
  (void)aws::describe_s3_failure(where, 403, text);
  try {
    const auto location = aws::parse_s3_uri(text);
    if (location.to_string() != text) std::abort();
    (void)aws::s3_object(location, "us-east-1", std::nullopt);
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
