#include "cloudtwin/host/image_source.hpp"

#include <charconv>
#include <cstdio>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/image.hpp"

namespace cloudtwin::host {

namespace {

std::uint16_t default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// The URL as the user may see it in an error: without its query.
std::string shown(std::string_view text) {
  const auto q = text.find('?');
  return std::string(text.substr(0, q)) + (q == std::string_view::npos ? "" : "?...");
}

[[noreturn]] void bad_url(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "URL '" + shown(text) + "': " + why);
}

bool fits_request_line(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// RFC 3986 5.2.4 on a path (no query).
std::string remove_dots(std::string_view path) {
  std::vector<std::string_view> kept;
  std::string_view rest = path.substr(1);
  bool trailing = false;
  while (true) {
    const auto slash = rest.find('/');
    const auto seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
      trailing = last;
    } else if (seg == ".") {
      trailing = last;
    } else {
      kept.push_back(seg);
      trailing = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (const auto s : kept) {
    out += '/';
    out += s;
  }
  if (trailing || out.empty()) out += '/';
  return out;
}

}  // namespace

std::string HttpUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string HttpUrl::to_string() const { return scheme + "://" + host_header() + target; }

std::string HttpUrl::masked() const { return shown(to_string()); }

HttpUrl parse_http_url(std::string_view text) {
  HttpUrl u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) bad_url(text, "no scheme (http:// or https://)");
  u.scheme = core::lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https")
    bad_url(text, "scheme '" + u.scheme + "' is not http or https");
  auto rest = text.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  for (const char c : rest) {
    if (!fits_request_line(c)) bad_url(text, "space or control character (percent-encode it)");
  }
  const auto path_start = rest.find_first_of("/?");
  const auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos)
    bad_url(text, "user:password@ in URLs is not supported");
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) bad_url(text, "'[' without ']'");
    const auto after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(text, "junk after ']'");
      port = after.substr(1);
    }
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) bad_url(text, "no host");
  u.host = core::lower(host);
  u.port = default_port(u.scheme);
  if (!port.empty() || authority.ends_with(':')) {
    const auto p = to_u64(port);
    if (!p || *p == 0 || *p > 65535)
      bad_url(text, "port '" + std::string(port) + "' is not 1-65535");
    u.port = static_cast<std::uint16_t>(*p);
  }
  if (path_start == std::string_view::npos) {
    u.target = "/";
  } else {
    u.target = std::string(rest.substr(path_start));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  return u;
}

HttpUrl resolve_location(const HttpUrl& base, std::string_view location) {
  location = core::trim(location);
  if (const auto hash = location.find('#'); hash != std::string_view::npos)
    location = location.substr(0, hash);
  if (location.empty()) bad_url(base.to_string(), "redirect without a Location");
  if (location.find("://") != std::string_view::npos &&
      location.find("://") < location.find_first_of("/?"))
    return parse_http_url(location);
  if (location.starts_with("//")) return parse_http_url(base.scheme + ":" + std::string(location));
  for (const char c : location) {
    if (!fits_request_line(c)) bad_url(location, "space or control character in Location");
  }
  HttpUrl out = base;
  const auto q = location.find('?');
  std::string path(location.substr(0, q));
  const std::string query = q == std::string_view::npos ? "" : std::string(location.substr(q));
  if (path.empty()) {  // "?x": same path, new query
    const auto base_q = base.target.find('?');
    path = base.target.substr(0, base_q);
  } else if (path.front() != '/') {
    const auto base_path = base.target.substr(0, base.target.find('?'));
    path = base_path.substr(0, base_path.rfind('/') + 1) + path;
  }
  out.target = remove_dots(path) + query;
  return out;
}

std::string ImageSource::origin() const {
  switch (kind) {
    case SourceKind::Http:
      return url.masked();
    case SourceKind::S3:
      return s3.to_string();
    case SourceKind::Path:
      break;
  }
  return path;
}

ImageSource parse_image_source(std::string_view text) {
  ImageSource s;
  const auto lower = core::lower(text.substr(0, 8));
  if (lower.starts_with("http://") || lower.starts_with("https://")) {
    s.kind = SourceKind::Http;
    s.url = parse_http_url(text);
  } else if (text.starts_with("s3://")) {
    s.kind = SourceKind::S3;
    s.s3 = aws::parse_s3_uri(text);
  } else if (const auto sep = text.find("://");
             sep != std::string_view::npos && text.find('/') == sep + 1) {
    throw Error(ErrorCode::InvalidArgument,
                "source '" + shown(text) + "': scheme '" + std::string(text.substr(0, sep)) +
                    "' is not supported (a path, http://, https:// or s3://)");
  } else {
    if (text.empty()) throw Error(ErrorCode::InvalidArgument, "empty image source");
    s.kind = SourceKind::Path;
    s.path = std::string(text);
  }
  return s;
}

std::string source_base_name(const ImageSource& source) {
  std::string path;
  if (source.kind == SourceKind::Http)
    path = source.url.target.substr(0, source.url.target.find('?'));
  else if (source.kind == SourceKind::S3)
    path = source.s3.key;
  else
    path = source.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  const auto slash = path.find_last_of('/');
  const auto base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.empty() ? "disk.qcow2" : default_image_name(base);
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = core::trim(value);
  if (!value.starts_with("bytes ")) return std::nullopt;
  value.remove_prefix(6);
  const auto dash = value.find('-');
  const auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return std::nullopt;
  const auto first = to_u64(value.substr(0, dash));
  const auto last = to_u64(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange r{*first, *last, std::nullopt};
  const auto total = value.substr(slash + 1);
  if (total != "*") {
    const auto t = to_u64(total);
    if (!t || *t <= *last) return std::nullopt;
    r.total = *t;
  }
  return r;
}

std::string normalise_sha256(std::string_view hex) {
  std::string out = core::lower(core::trim(hex));
  const bool ok =
      out.size() == 64 && out.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!ok) {
    throw Error(ErrorCode::InvalidArgument,
                "--sha256 '" + std::string(hex) + "' is not 64 hexadecimal digits");
  }
  return out;
}

std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total,
                            double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string out = human_size(done);
  if (total) {
    const auto pct = *total == 0 ? 100 : static_cast<int>(done * 100 / *total);
    out += " / " + human_size(*total) + " (" + std::to_string(pct) + "%)";
  }
  out += "  " + human_size(static_cast<std::uint64_t>(rate)) + "/s";
  if (total && rate > 0 && done <= *total) {
    const auto eta = static_cast<std::uint64_t>(static_cast<double>(*total - done) / rate + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "  ETA %llu:%02llu", static_cast<unsigned long long>(eta / 60),
                  static_cast<unsigned long long>(eta % 60));
    out += buf;
  }
  return out;
}

}  // namespace cloudtwin::host
