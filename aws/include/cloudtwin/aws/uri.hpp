#pragma once
// URL pieces shared by the SigV4 signer, the EC2 Query API and S3: percent-encoding as
// AWS wants it, application/x-www-form-urlencoded bodies, and endpoint URLs.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudtwin::aws {

// Ordered name/value pairs (query parameters, form fields, HTTP headers).
using Params = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 encoding as SigV4 specifies it: A-Z a-z 0-9 - _ . ~ kept, every other byte
// %XX (upper-case hex); '/' kept too when `keep_slash` (paths).
std::string uri_encode(std::string_view s, bool keep_slash = false);
// %XX decoded, and '+' as a space when `plus_is_space`. Throws Error(InvalidArgument) for
// a '%' not followed by two hex digits.
std::string uri_decode(std::string_view s, bool plus_is_space);

// "a=1&b=x%20y" in the given order (names and values uri_encode'd).
std::string form_encode(const Params& params);
// The pairs of an x-www-form-urlencoded body or a query string, decoded, in order.
Params form_decode(std::string_view text);

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or address, IPv6 without brackets
  std::uint16_t port = 0;
  std::string path = "/";  // as written, "/" when absent

  bool tls() const noexcept { return scheme == "https"; }
  // The Host header: host, plus ":port" when not the scheme's default.
  std::string host_header() const;
  std::string to_string() const;
};

// http://host[:port][/path] or https://...; throws Error(InvalidArgument) naming the URL
// and what is wrong (no scheme, other scheme, bad port, query or fragment).
Url parse_url(std::string_view text);

}  // namespace cloudtwin::aws
