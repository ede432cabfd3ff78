#pragma once
// Where `cloudtwin image import` takes an image from, as pure values: a local path, an
// http(s) URL (with its query, which the record masks) or an s3:// object; redirects
// resolved against the URL asked; Content-Range answers; the progress line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/aws/s3.hpp"

namespace cloudtwin::host {

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case name or address, IPv6 without brackets
  std::uint16_t port = 0;
  std::string target = "/";  // path and query as sent on the request line

  bool tls() const noexcept { return scheme == "https"; }
  std::string host_header() const;  // host[:port when not the default], IPv6 in brackets
  std::string to_string() const;
  // As to_string() with the query replaced by "?..." (presigned URLs carry secrets).
  std::string masked() const;
  bool operator==(const HttpUrl&) const = default;
};

// http://host[:port][/path][?query]; a #fragment is dropped. Throws Error(InvalidArgument)
// naming the URL (masked) for another scheme, user:password@, a bad port, an empty host,
// or bytes that cannot go on a request line (spaces, controls).
HttpUrl parse_http_url(std::string_view text);

// A Location header against the URL that answered: absolute ("https://..."),
// scheme-relative ("//host/p"), absolute path ("/p") or relative ("p", "../p").
HttpUrl resolve_location(const HttpUrl& base, std::string_view location);

enum class SourceKind { Path, Http, S3 };

struct ImageSource {
  SourceKind kind = SourceKind::Path;
  std::string path;  // Path
  HttpUrl url;       // Http
  aws::S3Location s3;
  // What the record keeps as the origin: the path, the masked URL, or s3://bucket/key.
  std::string origin() const;
};

// "http://..." / "https://..." / "s3://..." / anything else is a path; throws
// Error(InvalidArgument) for a malformed URL or another scheme ("ftp://").
ImageSource parse_image_source(std::string_view text);

// "image.qcow2" from the last path segment of a URL or key ("disk"+".qcow2" without one).
std::string source_base_name(const ImageSource& source);

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;  // nullopt for "/*"
  bool operator==(const ContentRange&) const = default;
};
// "bytes 100-199/1000" or "bytes 100-199/*"; nullopt when malformed.
std::optional<ContentRange> parse_content_range(std::string_view value);

// 64 hex digits (either case) -> lower case; throws Error(InvalidArgument) for --sha256.
std::string normalise_sha256(std::string_view hex);

// "512.0 MiB / 1.0 GiB (50%)  85.3 MiB/s  ETA 0:06"; without a total: "512.0 MiB  85.3
// MiB/s". `seconds` is the time since the transfer started.
std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total, double seconds);

}  // namespace cloudtwin::host
