#pragma once
// Internal to core/src: the bounded stream reading and base64 scanning shared by
// encoding.cpp and user_data.cpp. Not installed, not part of the public API.
#include <cstddef>
#include <istream>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>

#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::core::detail {

inline constexpr std::string_view kWhitespace = kAsciiSpace;

inline bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  return starts_with_icase(s, prefix);
}
std::string describe_byte(char c);

// An istream over bytes owned elsewhere (no copy); they must outlive the stream.
class MemoryStream : public std::istream {
 public:
  explicit MemoryStream(std::string_view data);

 private:
  struct Buf : std::streambuf {
    void set(char* begin, char* end) { setg(begin, begin, end); }
  } buf_;
};

[[noreturn]] void throw_over_limit(const std::string& what, std::size_t limit,
                                   const std::string& field);

// Reads a (decoding) stream to its end in chunks, never holding more than limit + 1
// bytes: this is what stops a gzip bomb. Throws Error(UserDataTooLarge) naming `what`
// and the UserDataLimits `field`.
std::string read_bounded(std::istream& in, std::size_t limit, const std::string& what,
                         const std::string& field);

struct Base64Scan {
  std::string clean;  // alphabet characters only, padded to a multiple of 4
  std::optional<std::size_t> error_offset;
  std::string error;
};
Base64Scan scan_base64(std::string_view text);
std::string decode_clean_base64(const std::string& clean);

// zlib's memory allocator (zlib's alloc_func / free_func; null: malloc and free). A seam
// for tests, which pass one that fails at the Nth call: zlib's own failures must surface
// as cloudtwin::Error naming the cause, never as std::bad_alloc.
struct ZlibAllocator {
  void* (*alloc)(void* opaque, unsigned items, unsigned size) = nullptr;
  void (*free)(void* opaque, void* address) = nullptr;
  void* opaque = nullptr;
};
std::string gunzip(std::string_view data, std::size_t max_output, const ZlibAllocator& allocator);
std::string gzip(std::string_view data, const ZlibAllocator& allocator);

}  // namespace cloudtwin::core::detail
