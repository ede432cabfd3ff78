#include "cloudtwin/core/user_data.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <istream>
#include <new>
#include <sstream>
#include <utility>

#include "cloudtwin/core/error.hpp"
#include "encoding_detail.hpp"
#include "user_data_detail.hpp"

namespace cloudtwin::core {

namespace detail {

[[noreturn]] void throw_too_large(const std::string& what, std::size_t size, std::size_t limit,
                                  const std::string& field) {
  throw Error(ErrorCode::UserDataTooLarge,
              what + " is " + std::to_string(size) + " bytes, over the limit of " +
                  std::to_string(limit) + " bytes (UserDataLimits::" + field +
                  "); gzip it or move content behind an #include URL");
}

// ---- classification -------------------------------------------------------------------------

// cloud-init's INCLUSION_TYPES_MAP (cloudinit/handlers/__init__.py), longest prefix first, matched
// case-insensitively after stripping leading whitespace. Archive, jsonp and jinja are recognised so
// that they do not fall through to the shorter "#cloud-config" prefix, but we do not run them.
// cloud-init's "text/x-shellscript-per-*" entries are left out on purpose: they exist only so
// `make-mime` accepts those types, and matching them as payload prefixes would call text without a
// "#!" line a script.
constexpr std::array<PrefixRule, 9> kPrefixRules{{
    {"#cloud-config-archive", "text/cloud-config-archive", UserDataKind::Unknown},
    {"#cloud-config-jsonp", "text/cloud-config-jsonp", UserDataKind::Unknown},
    {"## template: jinja", "text/jinja2", UserDataKind::Unknown},
    {"#cloud-boothook", "text/cloud-boothook", UserDataKind::Boothook},
    {"#cloud-config", "text/cloud-config", UserDataKind::CloudConfig},
    {"#include-once", "text/x-include-once-url", UserDataKind::Include},
    {"#part-handler", "text/part-handler", UserDataKind::PartHandler},
    {"#include", "text/x-include-url", UserDataKind::Include},
    {"#!", "text/x-shellscript", UserDataKind::Script},
}};

struct TypeRule {
  std::string_view content_type;
  UserDataKind kind;
};

constexpr std::array<TypeRule, 9> kTypeRules{{
    {"text/x-shellscript", UserDataKind::Script},
    {"text/x-shellscript-per-boot", UserDataKind::Script},
    {"text/x-shellscript-per-instance", UserDataKind::Script},
    {"text/x-shellscript-per-once", UserDataKind::Script},
    {"text/cloud-config", UserDataKind::CloudConfig},
    {"text/x-include-url", UserDataKind::Include},
    {"text/x-include-once-url", UserDataKind::Include},
    {"text/cloud-boothook", UserDataKind::Boothook},
    {"text/part-handler", UserDataKind::PartHandler},
}};

const PrefixRule* match_prefix(std::string_view data) noexcept {
  const auto first = data.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return nullptr;
  const std::string_view rest = data.substr(first);
  for (const auto& rule : kPrefixRules) {
    if (starts_with_ci(rest, rule.prefix)) return &rule;
  }
  return nullptr;
}

UserDataKind kind_for_content_type(std::string_view content_type) noexcept {
  for (const auto& rule : kTypeRules) {
    if (rule.content_type == content_type) return rule.kind;
  }
  return UserDataKind::Unknown;
}

}  // namespace detail

namespace {

using namespace detail;

bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b > 0x20 && b < 0x7f && c != ':';
  });
}

// A MIME message starts with a header block holding MIME-Version or Content-Type. cloud-init looks
// for "mime-version:" anywhere in the first 4096 bytes; we only look at the leading header block
// (same 4096-byte window), so a text that merely mentions the header is not taken for MIME.
bool looks_mime(std::string_view data) noexcept {
  const std::string_view window = data.substr(0, std::min<std::size_t>(data.size(), 4096));
  std::size_t pos = 0;
  bool first = true;
  while (pos < window.size()) {
    auto eol = window.find('\n', pos);
    if (eol == std::string_view::npos) eol = window.size();
    std::string_view line = window.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return false;                     // end of the header block
    if (line.front() == ' ' || line.front() == '\t') {  // folded continuation line
      if (first) return false;
    } else {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos || !is_header_name(line.substr(0, colon))) return false;
      if (starts_with_ci(line, "mime-version:") || starts_with_ci(line, "content-type:"))
        return true;
    }
    first = false;
    pos = eol + 1;
  }
  return false;
}

bool is_blank(std::string_view data) noexcept {
  return data.find_first_not_of(kWhitespace) == std::string_view::npos;
}

// Set by cloudtwin_core_mime when a program links it, or by the agent's plugin loader.
std::atomic<MimeSplitter> mime_splitter{nullptr};

}  // namespace

const char* to_string(UserDataKind kind) noexcept {
  switch (kind) {
    case UserDataKind::Empty:
      return "empty";
    case UserDataKind::Script:
      return "script";
    case UserDataKind::CloudConfig:
      return "cloud-config";
    case UserDataKind::Include:
      return "include";
    case UserDataKind::Boothook:
      return "boothook";
    case UserDataKind::PartHandler:
      return "part-handler";
    case UserDataKind::Multipart:
      return "multipart";
    case UserDataKind::Unknown:
      return "unknown";
  }
  return "unknown";
}

UserDataKind classify_user_data(std::string_view data) {
  if (is_blank(data)) return UserDataKind::Empty;
  if (const PrefixRule* rule = match_prefix(data)) return rule->kind;
  if (looks_mime(data)) return UserDataKind::Multipart;
  return UserDataKind::Unknown;
}

std::string decode_user_data(std::string_view raw, UserDataEncoding encoding,
                             const UserDataLimits& limits) {
  if (raw.size() > limits.max_input)
    throw_too_large("user-data", raw.size(), limits.max_input, "max_input");
  std::string data;
  switch (encoding) {
    case UserDataEncoding::None:
      data.assign(raw);
      break;
    case UserDataEncoding::Base64:
      try {
        data = base64_decode(raw);
      } catch (const Error& e) {
        throw Error(e.code(), std::string("user-data: ") + e.what());
      }
      break;
    case UserDataEncoding::Auto: {
      // Only when the whole input is base64 and decodes to something that is user-data: plain
      // text such as "true" or "echo" is valid base64 too.
      Base64Scan scan = scan_base64(raw);
      if (!scan.error_offset && !scan.clean.empty()) {
        std::string decoded = decode_clean_base64(scan.clean);
        if (looks_gzip(decoded) || decoded.front() == '#' ||
            starts_with_ci(decoded, "content-type:") || starts_with_ci(decoded, "mime-version:")) {
          data = std::move(decoded);
          break;
        }
      }
      data.assign(raw);
      break;
    }
  }
  if (looks_gzip(data)) {
    try {
      data = gunzip(data, limits.max_decoded);
    } catch (const Error& e) {
      throw Error(e.code(), std::string("user-data: ") + e.what());
    }
  }
  if (data.size() > limits.max_decoded) {
    throw_too_large("decoded user-data", data.size(), limits.max_decoded, "max_decoded");
  }
  return data;
}

MimeSplitter set_mime_splitter(MimeSplitter splitter) noexcept {
  return mime_splitter.exchange(splitter);
}

std::vector<UserDataPart> split_user_data(std::string_view decoded, const UserDataLimits& limits) {
  if (decoded.size() > limits.max_decoded) {
    throw_too_large("decoded user-data", decoded.size(), limits.max_decoded, "max_decoded");
  }
  const UserDataKind kind = classify_user_data(decoded);
  if (kind == UserDataKind::Multipart) {
    const MimeSplitter mime = mime_splitter.load();
    if (mime == nullptr) {
      throw Error(ErrorCode::UserDataBadMime,
                  "user-data: MIME multipart, but this program has no MIME support (link "
                  "cloudtwin_core_mime, or install the cloudtwin-mime plugin)");
    }
    return mime(decoded, limits);
  }
  UserDataPart part;
  part.kind = kind;
  const PrefixRule* rule = match_prefix(decoded);
  part.content_type = rule ? std::string(rule->content_type) : std::string(kUndefinedType);
  part.filename = "part-001";
  part.content.assign(decoded);
  return {std::move(part)};
}

std::vector<UserDataPart> parse_user_data(std::string_view raw, UserDataEncoding encoding,
                                          const UserDataLimits& limits) {
  return split_user_data(decode_user_data(raw, encoding, limits), limits);
}

}  // namespace cloudtwin::core
