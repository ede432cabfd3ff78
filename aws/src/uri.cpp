#include "cloudtwin/aws/uri.hpp"

#include <charconv>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::aws {

namespace {

bool unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void bad_url(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument,
              "endpoint URL '" + std::string(text) + "': " + why +
                  " (expected http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH])");
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string uri_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 1 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        throw Error(ErrorCode::InvalidArgument,
                    "bad percent escape at byte " + std::to_string(i) + " of an URL-encoded text");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += uri_encode(name);
    out += '=';
    out += uri_encode(value);
  }
  return out;
}

Params form_decode(std::string_view text) {
  Params out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto piece = text.substr(0, amp);
    text.remove_prefix(amp == std::string_view::npos ? text.size() : amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    out.emplace_back(
        uri_decode(piece.substr(0, eq), true),
        eq == std::string_view::npos ? std::string() : uri_decode(piece.substr(eq + 1), true));
  }
  return out;
}

std::string Url::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + host + "]" : host;
  const std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

std::string Url::to_string() const { return scheme + "://" + host_header() + path; }

Url parse_url(std::string_view text) {
  Url url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) bad_url(text, "no scheme");
  url.scheme = core::lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") bad_url(text, "scheme is not http or https");
  auto rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) bad_url(text, "query or fragment");
  const auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) bad_url(text, "user info");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(text, "'[' without ']'");
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(text, "text after ']'");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) bad_url(text, "no host");
  url.port = url.tls() ? 443 : 80;
  if (!port_text.empty() || authority.ends_with(":")) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      bad_url(text, "bad port '" + std::string(port_text) + "'");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace cloudtwin::aws
