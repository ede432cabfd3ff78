// libFuzzer target for what the EC2 test endpoint and the clients read from outside
// besides XML: SigV4 Authorization headers, form bodies, endpoint URLs. Beyond "no
// crash": only cloudtwin::Error escapes, and form_decode(form_encode(p)) == p.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/aws/uri.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace aws = cloudtwin::aws;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)aws::parse_authorization(text);
  } catch (const cloudtwin::Error&) {
  }
  try {
    (void)aws::parse_url(text);
  } catch (const cloudtwin::Error&) {
  }
  try {
    const auto params = aws::form_decode(text);
    aws::Params kept;
    for (const auto& p : params) {
      if (!p.first.empty()) kept.push_back(p);
    }
    if (aws::form_decode(aws::form_encode(kept)) != kept) __builtin_trap();
    (void)aws::canonical_query(params);
  } catch (const cloudtwin::Error&) {
  }
  (void)aws::canonical_uri(text, false);
  (void)aws::canonical_headers({{std::string(text), std::string(text)}});
  return 0;
}
