#include "cloudtwin/metadata/handler.hpp"

#include <algorithm>

#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::metadata {

namespace {

// ASCII only, as HTTP field names are; no locale look-up on the hot path.
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

template <typename Name>
std::optional<std::string_view> find_header(
    const std::vector<std::pair<Name, std::string>>& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

// Strict decimal 1..21600: no sign, no spaces inside, no leading '+'.
std::optional<int> parse_ttl(std::string_view text, int max) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > 6) return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < TokenService::kMinTtl || value > max) return std::nullopt;
  return value;
}

Response text(std::string_view body) {
  Response r;
  r.headers.reserve(2);
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = body;
  return r;
}

std::optional<Target> split_target(std::string_view target, std::string& scratch) {
  const auto path = request_path(target, scratch);
  if (!path) return std::nullopt;
  std::string_view p = path->substr(1);
  Target t;
  if (p.empty()) {
    t.root = true;
    return t;
  }
  const auto slash = p.find('/');
  t.version = p.substr(0, slash);
  if (slash != std::string_view::npos) t.rest = p.substr(slash + 1);
  return t;
}

const std::string& versions_listing() {
  static const std::string listing = [] {
    std::string out;
    for (const auto& v : api_versions()) {
      if (!out.empty()) out += '\n';
      out += v;
    }
    return out;
  }();
  return listing;
}

}  // namespace

std::optional<std::string_view> request_path(std::string_view target, std::string& scratch) {
  const auto q = target.find_first_of("?#");
  if (q != std::string_view::npos) target = target.substr(0, q);
  // Absolute form (RFC 9112 section 3.2.2), sent by clients that were told the service
  // is a proxy: the authority is ignored, as EC2 answers whatever Host names it.
  if (core::starts_with_icase(target, "http://") || core::starts_with_icase(target, "https://")) {
    target.remove_prefix(target.find("//") + 2);
    const auto slash = target.find('/');
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') return std::nullopt;
  // Nearly every request is already clean: no copy then.
  if (target.find("//") == std::string_view::npos && target.find("/.") == std::string_view::npos)
    return target;
  // Repeated slashes are one (SDKs send "//latest/..." when the endpoint ends in '/'),
  // "." and ".." are resolved as RFC 3986 section 5.2.4 does, clamped at "/": a path
  // can only ever name something inside the tree.
  std::vector<std::string_view> segments;
  bool directory = target.back() == '/';
  std::size_t pos = 1;
  while (pos <= target.size()) {
    auto end = target.find('/', pos);
    if (end == std::string_view::npos) end = target.size();
    const auto seg = target.substr(pos, end - pos);
    pos = end + 1;
    if (seg.empty()) continue;
    directory = seg == "." || seg == "..";
    if (seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(seg);
  }
  if (target.back() == '/') directory = true;
  scratch = "/";
  for (std::size_t n = 0; n < segments.size(); ++n) {
    if (n) scratch += '/';
    scratch += segments[n];
  }
  if (directory && !segments.empty()) scratch += '/';
  return std::string_view(scratch);
}

bool closes_connection(int status) { return status >= 400 && status != 429; }

std::optional<std::string_view> Request::header(std::string_view name) const {
  return find_header(headers, name);
}

std::optional<std::string_view> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

Response error_response(int status) {
  Response r;
  r.status = status;
  const std::string title = std::to_string(status) + " - " + std::string(reason_phrase(status));
  r.headers.emplace_back("Content-Type", "text/html");
  r.body =
      "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
      "\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      " <head>\n  <title>" +
      title +
      "</title>\n </head>\n"
      " <body>\n  <h1>" +
      title + "</h1>\n </body>\n</html>\n";
  return r;
}

Response Handler::handle(const Request& request, const ServedInstance* caller,
                         Clock::time_point now) const {
  if (caller == nullptr) return error_response(404);
  if (caller->instance.options.http_endpoint == record::HttpEndpoint::Disabled)
    return error_response(403);
  std::string scratch;
  const auto target = split_target(request.target, scratch);
  if (request.method == "PUT") return put_token(request, target, *caller, now);
  if (target && !target->root && target->rest == "api/token") {
    // EC2's answer to anything but PUT on the token path, token or not: 405 with
    // "Allow: OPTIONS, PUT" and an empty text/plain body.
    Response r = text("");
    r.status = 405;
    r.headers.emplace_back("Allow", "OPTIONS, PUT");
    return r;
  }
  if (request.method == "GET" || request.method == "HEAD")
    return get(request, target, *caller, now);
  auto r = error_response(405);
  r.headers.emplace_back("Allow", "GET, HEAD, PUT");
  return r;
}

Response Handler::put_token(const Request& request, const std::optional<Target>& target,
                            const ServedInstance& caller, Clock::time_point now) const {
  // A PUT relayed by a proxy is how SSRF reaches IMDS; EC2 refuses it.
  if (request.header("X-Forwarded-For")) return error_response(403);
  if (!target || target->version != "latest" || target->rest != "api/token")
    return error_response(403);
  const auto ttl_text = request.header(kTokenTtlHeader);
  const auto ttl = ttl_text ? parse_ttl(*ttl_text, token_ttl_max_) : std::nullopt;
  if (!ttl) return error_response(400);
  auto r = text(tokens_.issue(caller.instance.instance_id, std::chrono::seconds(*ttl), now));
  r.headers.emplace_back(kTokenTtlHeader, std::to_string(*ttl));
  r.ip_ttl = caller.instance.options.hop_limit;
  return r;
}

Response Handler::get(const Request& request, const std::optional<Target>& target,
                      const ServedInstance& caller, Clock::time_point now) const {
  std::optional<std::chrono::seconds> left;
  if (const auto token = request.header(kTokenHeader)) {
    left = tokens_.check(*token, caller.instance.instance_id, now);
    if (!left) return error_response(401);  // a bad token is refused even when optional
  } else if (caller.instance.options.http_tokens == record::HttpTokens::Required) {
    return error_response(401);
  }
  if (!target) return error_response(400);
  Response r;
  if (target->root) {
    r = text(versions_listing());
  } else if (!is_api_version(target->version)) {
    r = error_response(404);
  } else {
    const auto& entry = caller.tree.find(target->rest);
    if (entry.kind == MetadataTree::Kind::NotFound) {
      r = error_response(404);
    } else if (entry.kind == MetadataTree::Kind::Leaf &&
               is_identity_credentials_path(target->rest)) {
      r = credentials_ ? text(credentials_->answer(target->rest, caller.instance))
                       : error_response(404);
    } else {
      r = text(entry.value());
    }
  }
  if (left) r.headers.emplace_back(kTokenTtlHeader, std::to_string(left->count()));
  if (request.method == "HEAD") r.body.clear();
  return r;
}

}  // namespace cloudtwin::metadata
