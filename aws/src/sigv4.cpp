#include "cloudtwin/aws/sigv4.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::aws {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool is_space(char c) noexcept { return core::kAsciiSpace.find(c) != std::string_view::npos; }

// Trimall: whitespace at both ends dropped, inner runs made one space.
void append_trimall(std::string& out, std::string_view value) {
  bool pending_space = false;
  bool any = false;
  for (const char c : value) {
    if (is_space(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    any = true;
    out += c;
  }
}

// RFC 3986 5.2.4 plus AWS's removal of empty segments, as botocore's normalize_url_path.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> kept;
  std::string_view rest = path;
  while (true) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (path.back() == '/' && !kept.empty()) out += '/';
  return out;
}

std::string authorization_header(const Credentials& credentials, std::string_view scope,
                                 std::string_view names, std::string_view signature) {
  std::string out(kAlgorithm);
  out += " Credential=";
  out += credentials.access_key_id;
  out += '/';
  out += scope;
  out += ", SignedHeaders=";
  out += names;
  out += ", Signature=";
  out += signature;
  return out;
}

bool has_header(const Params& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return core::equals_icase(h.first, name); });
}

[[noreturn]] void bad_authorization(const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "Authorization header: " + why);
}

}  // namespace

std::string canonical_uri(std::string_view path, bool s3) {
  if (s3) return path.empty() ? "/" : std::string(path);
  return uri_encode(remove_dot_segments(path), true);
}

std::string canonical_request(std::string_view method, std::string_view path, const Params& query,
                              const CanonicalHeaders& headers, std::string_view payload_hash,
                              bool s3) {
  std::string out = core::upper(method);
  out += '\n';
  out += canonical_uri(path, s3);
  out += '\n';
  out += canonical_query(query);
  out += '\n';
  out += headers.text;
  out += '\n';
  out += headers.names;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string canonical_query(const Params& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name), uri_encode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

CanonicalHeaders canonical_headers(const Params& headers) {
  std::vector<std::pair<std::string, std::string_view>> lowered;
  lowered.reserve(headers.size());
  for (const auto& [name, value] : headers) lowered.emplace_back(core::lower(name), value);
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    const bool same_as_previous = i > 0 && lowered[i].first == lowered[i - 1].first;
    if (same_as_previous) {
      out.text += ',';
    } else {
      if (i > 0) out.text += '\n';
      out.text += lowered[i].first;
      out.text += ':';
      if (!out.names.empty()) out.names += ';';
      out.names += lowered[i].first;
    }
    append_trimall(out.text, lowered[i].second);
  }
  if (!lowered.empty()) out.text += '\n';
  return out;
}

std::string credential_scope(std::string_view amz_date, const SigV4Scope& scope) {
  std::string out(amz_date.substr(0, 8));
  out += '/';
  out += scope.region;
  out += '/';
  out += scope.service;
  out += "/aws4_request";
  return out;
}

Authorization parse_authorization(std::string_view header) {
  header = core::trim(header);
  if (!header.starts_with(kAlgorithm) || header.size() == kAlgorithm.size() ||
      header[kAlgorithm.size()] != ' ') {
    bad_authorization("does not start with AWS4-HMAC-SHA256");
  }
  Authorization out;
  bool credential = false;
  bool names = false;
  for (const auto& part : core::words(header.substr(kAlgorithm.size()), ",")) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) bad_authorization("part without '='");
    const auto key = core::trim(std::string_view(part).substr(0, eq));
    const auto value = std::string_view(part).substr(eq + 1);
    if (key == "Credential") {
      const auto pieces = core::words(value, "/");
      if (pieces.size() != 5 || pieces[4] != "aws4_request") {
        bad_authorization("Credential is not KEY/DATE/REGION/SERVICE/aws4_request");
      }
      out.access_key_id = pieces[0];
      out.date = pieces[1];
      out.region = pieces[2];
      out.service = pieces[3];
      credential = true;
    } else if (key == "SignedHeaders") {
      out.signed_headers = core::words(value, ";");
      names = true;
    } else if (key == "Signature") {
      out.signature = std::string(value);
    }
  }
  if (!credential) bad_authorization("no Credential");
  if (!names || out.signed_headers.empty()) bad_authorization("no SignedHeaders");
  if (out.signature.empty()) bad_authorization("no Signature");
  return out;
}

std::string SigV4Signer::payload_hash(std::string_view body, const SigV4Scope& scope) const {
  if (scope.s3 && scope.unsigned_payload) return std::string(kUnsignedPayload);
  return hex(crypto_.sha256(body));
}

std::string SigV4Signer::string_to_sign(std::string_view amz_date, const SigV4Scope& scope,
                                        std::string_view canonical_request) const {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += credential_scope(amz_date, scope);
  out += '\n';
  out += hex(crypto_.sha256(canonical_request));
  return out;
}

std::string SigV4Signer::signature(std::string_view secret_access_key, std::string_view amz_date,
                                   const SigV4Scope& scope,
                                   std::string_view canonical_request) const {
  std::string secret = "AWS4";
  secret += secret_access_key;
  const auto k_date = crypto_.hmac_sha256(secret, amz_date.substr(0, 8));
  const auto k_region = crypto_.hmac_sha256(as_view(k_date), scope.region);
  const auto k_service = crypto_.hmac_sha256(as_view(k_region), scope.service);
  const auto k_signing = crypto_.hmac_sha256(as_view(k_service), "aws4_request");
  std::fill(secret.begin(), secret.end(), '\0');
  return hex(
      crypto_.hmac_sha256(as_view(k_signing), string_to_sign(amz_date, scope, canonical_request)));
}

SignedRequest SigV4Signer::sign(const SignableRequest& request, const Credentials& credentials,
                                const SigV4Scope& scope, std::string_view amz_date) const {
  SignedRequest out;
  Params headers = request.headers;
  if (!has_header(headers, "host")) headers.emplace_back("host", request.host);
  out.headers.emplace_back("x-amz-date", std::string(amz_date));
  if (!credentials.session_token.empty()) {
    out.headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  const std::string payload = payload_hash(request.body, scope);
  if (scope.s3) out.headers.emplace_back("x-amz-content-sha256", payload);
  headers.insert(headers.end(), out.headers.begin(), out.headers.end());

  const auto canonical = canonical_headers(headers);
  out.canonical_request =
      canonical_request(request.method, request.path, request.query, canonical, payload, scope.s3);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = signature(credentials.secret_access_key, amz_date, scope, out.canonical_request);
  out.headers.emplace_back("authorization",
                           authorization_header(credentials, credential_scope(amz_date, scope),
                                                canonical.names, out.signature));
  return out;
}

Params SigV4Signer::presign(const SignableRequest& request, const Credentials& credentials,
                            const SigV4Scope& scope, std::string_view amz_date,
                            int expires_seconds) const {
  Params headers = request.headers;
  if (!has_header(headers, "host")) headers.emplace_back("host", request.host);
  const auto canonical = canonical_headers(headers);
  Params added = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential", credentials.access_key_id + "/" + credential_scope(amz_date, scope)},
      {"X-Amz-Date", std::string(amz_date)},
      {"X-Amz-Expires", std::to_string(expires_seconds)},
      {"X-Amz-SignedHeaders", canonical.names},
  };
  if (!credentials.session_token.empty()) {
    added.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  Params query = request.query;
  query.insert(query.end(), added.begin(), added.end());
  const std::string payload =
      scope.s3 ? std::string(kUnsignedPayload) : hex(crypto_.sha256(request.body));
  const auto text =
      canonical_request(request.method, request.path, query, canonical, payload, scope.s3);
  added.emplace_back("X-Amz-Signature",
                     signature(credentials.secret_access_key, amz_date, scope, text));
  return added;
}

std::string amz_date(long long epoch_seconds) {
  using namespace std::chrono;
  const sys_seconds t{seconds{epoch_seconds}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

}  // namespace cloudtwin::aws
