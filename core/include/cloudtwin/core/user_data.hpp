#pragma once
// User-data decoding: what a VM was given as "user data" (OpenNebula USER_DATA,
// EC2 /latest/user-data, NoCloud user-data), turned into typed parts.
// Pure: no files, no processes; everything is a function of its input bytes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::core {

enum class UserDataKind {
  Empty,
  Script,       // "#!" first line, text/x-shellscript
  CloudConfig,  // "#cloud-config", text/cloud-config
  Include,      // "#include", text/x-include-url
  Boothook,     // "#cloud-boothook", text/cloud-boothook
  PartHandler,  // "#part-handler", text/part-handler
  Multipart,    // a MIME message, multipart or not (only before splitting)
  Unknown,      // anything else (also #cloud-config-archive, jinja): kept, never executed
};

const char* to_string(UserDataKind kind) noexcept;

// Classifies by the first line exactly as cloud-init does (case-insensitive prefix match
// after leading whitespace, longest prefix first; MIME is recognised by a Content-Type or
// MIME-Version line in the header block at the very start). Blank input is Empty.
UserDataKind classify_user_data(std::string_view data);

enum class UserDataEncoding { Auto, None, Base64 };

struct UserDataLimits {
  std::size_t max_input = std::size_t{64} * 1024;      // bytes as received (EC2 allows 16 KiB raw)
  std::size_t max_decoded = std::size_t{1024} * 1024;  // after base64 + gunzip: guards gzip bombs
  std::size_t max_parts = 64;  // MIME parts, counted over all nesting levels
  std::size_t max_depth = 4;   // nested multipart levels
};

struct UserDataPart {
  UserDataKind kind = UserDataKind::Unknown;
  std::string content_type;  // e.g. "text/x-shellscript" (derived from the content when absent)
  std::string filename;      // from Content-Disposition (untrusted: may hold '/'), or "part-NNN"
  std::string content;       // decoded body
};

// Base64 (standard alphabet, whitespace ignored, '=' padding optional).
// Throws Error(UserDataBadBase64) naming the offending byte offset.
std::string base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

bool looks_gzip(std::string_view data) noexcept;
// Throws Error(UserDataBadGzip) or Error(UserDataTooLarge) past max_output.
std::string gunzip(std::string_view data, std::size_t max_output);
std::string gzip(std::string_view data);

// Undo transport encodings: base64 when asked (or, with Auto, when the whole input
// is base64 that decodes to recognisable user-data), then gzip when the gzip
// magic is present. Throws on size limits and corrupt encodings.
std::string decode_user_data(std::string_view raw,
                             UserDataEncoding encoding = UserDataEncoding::Auto,
                             const UserDataLimits& limits = {});

// Splits MIME multipart user-data into parts (recursively; nested multiparts are
// flattened) using Poco's MIME reader. Non-multipart input yields one part.
// MIME needs the splitter of cloudtwin_core_mime (see set_mime_splitter); without one,
// MIME input throws Error(UserDataBadMime) saying so.
// Throws Error(UserDataBadMime) with the part number ("MIME part 2.1" when nested) on
// malformed or truncated MIME, Error(UserDataTooLarge) past max_parts, max_depth or
// max_decoded (gunzipped part contents count together).
std::vector<UserDataPart> split_user_data(std::string_view decoded,
                                          const UserDataLimits& limits = {});

// MIME splitting (Poco::Net) lives in the library cloudtwin_core_mime, not in the core:
// the agent must not load Poco at every boot. A program that links cloudtwin_core_mime
// has split_mime_user_data installed before main(); the agent installs a loader of the
// cloudtwin-mime plugin instead. Returns the splitter that was installed before.
using MimeSplitter = std::vector<UserDataPart> (*)(std::string_view message,
                                                   const UserDataLimits& limits);
MimeSplitter set_mime_splitter(MimeSplitter splitter) noexcept;
// In cloudtwin_core_mime: the MIME message `message` (classified Multipart) into parts.
std::vector<UserDataPart> split_mime_user_data(std::string_view message,
                                               const UserDataLimits& limits);

// decode_user_data + split_user_data.
std::vector<UserDataPart> parse_user_data(std::string_view raw,
                                          UserDataEncoding encoding = UserDataEncoding::Auto,
                                          const UserDataLimits& limits = {});

}  // namespace cloudtwin::core
