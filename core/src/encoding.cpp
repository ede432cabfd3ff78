// Transport encodings of user-data and context values: base64 (Boost.Archive's
// header-only base64 iterators) and gzip (zlib). No Poco and no libcrypto here: the
// agent links this at boot, where every shared library costs each stage time (see
// agent/CMakeLists.txt).
#include <zlib.h>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>

#include <array>
#include <cstdio>
#include <memory>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "encoding_detail.hpp"

namespace cloudtwin::core {
namespace detail {

std::string describe_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  std::array<char, 16> buf{};
  if (byte >= 0x21 && byte < 0x7f) {
    std::snprintf(buf.data(), buf.size(), "'%c' (0x%02x)", c, static_cast<unsigned>(byte));
  } else {
    std::snprintf(buf.data(), buf.size(), "0x%02x", static_cast<unsigned>(byte));
  }
  return buf.data();
}

MemoryStream::MemoryStream(std::string_view data) : std::istream(nullptr) {
  // std::streambuf's get area is char*, but nothing writes through it (no putback into it).
  char* begin = const_cast<char*>(data.data());  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  buf_.set(begin, begin + data.size());
  rdbuf(&buf_);
}

// Reads a (decoding) stream to its end in chunks, never holding more than limit + 1 bytes:
// this is what stops a gzip bomb. The stream must have exceptions(badbit) set so that an
// exception thrown inside its streambuf reaches us instead of silently ending the read.
[[noreturn]] void throw_over_limit(const std::string& what, std::size_t limit,
                                   const std::string& field) {
  throw Error(ErrorCode::UserDataTooLarge, what + " is more than " + std::to_string(limit) +
                                               " bytes, over the limit (UserDataLimits::" + field +
                                               ")");
}

std::string read_bounded(std::istream& in, std::size_t limit, const std::string& what,
                         const std::string& field) {
  std::string out;
  std::array<char, std::size_t{16} * 1024> chunk{};
  for (;;) {
    // One byte past the limit tells "exactly at the limit" from "over it" (no overflow at
    // SIZE_MAX).
    const std::size_t room = limit - out.size();
    const std::size_t want = room >= chunk.size() ? chunk.size() : room + 1;
    in.read(chunk.data(), static_cast<std::streamsize>(want));
    const auto got = static_cast<std::size_t>(in.gcount());
    out.append(chunk.data(), got);
    if (out.size() > limit) throw_over_limit(what, limit, field);
    if (got < want) break;
  }
  return out;
}

bool is_base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

Base64Scan scan_base64(std::string_view text) {
  Base64Scan scan;
  scan.clean.reserve(text.size());
  std::size_t padding = 0;
  std::size_t first_pad = 0;
  std::size_t last_data = 0;
  auto fail = [&scan](std::size_t offset, std::string message) {
    scan.error_offset = offset;
    scan.error = std::move(message);
    return scan;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (kWhitespace.find(c) != std::string_view::npos) continue;
    if (c == '=') {
      if (padding == 0) first_pad = i;
      if (++padding > 2) return fail(i, "too much '=' padding");
      continue;
    }
    if (!is_base64_char(c)) return fail(i, "invalid character " + describe_byte(c));
    if (padding > 0) return fail(i, "data after '=' padding");
    scan.clean.push_back(c);
    last_data = i;
  }
  const std::size_t tail = scan.clean.size() % 4;
  if (tail == 1)
    return fail(last_data, "truncated input: a lone final character cannot encode a byte");
  if (padding > 0 && tail + padding != 4) {
    return fail(first_pad, "wrong '=' padding: " + std::to_string(padding) + " after " +
                               std::to_string(tail) + " characters of the last group");
  }
  if (tail != 0) scan.clean.append(4 - tail, '=');
  return scan;
}

std::string decode_clean_base64(const std::string& clean) {
  // Validated and padded by scan_base64: groups of 4 alphabet characters, '=' only at
  // the end. Padding decodes as 'A' (zero bits); its bytes are then dropped.
  using namespace boost::archive::iterators;
  using Decoder = transform_width<binary_from_base64<std::string::const_iterator>, 8, 6>;
  std::size_t padding = 0;
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '='; ++it) ++padding;
  std::string data(clean.begin(), clean.end() - static_cast<std::ptrdiff_t>(padding));
  data.append(padding, 'A');
  std::string out(Decoder(data.cbegin()), Decoder(data.cend()));
  out.resize(data.size() / 4 * 3 - padding);
  return out;
}

}  // namespace detail

using detail::Base64Scan;
using detail::decode_clean_base64;
using detail::scan_base64;

std::string base64_decode(std::string_view text) {
  Base64Scan scan = scan_base64(text);
  if (scan.error_offset) {
    throw Error(ErrorCode::UserDataBadBase64,
                "base64: " + scan.error + " at byte offset " + std::to_string(*scan.error_offset));
  }
  return decode_clean_base64(scan.clean);
}

std::string base64_encode(std::string_view bytes) {
  using namespace boost::archive::iterators;
  using Encoder = base64_from_binary<transform_width<std::string_view::const_iterator, 6, 8>>;
  std::string out(Encoder(bytes.cbegin()), Encoder(bytes.cend()));
  out.append((3 - bytes.size() % 3) % 3, '=');
  return out;
}

bool looks_gzip(std::string_view data) noexcept {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

namespace {

constexpr int kGzipWindowBits = 15 + 16;  // zlib: 32 KiB window, gzip wrapper

struct InflateEnd {
  void operator()(z_stream* z) const noexcept { inflateEnd(z); }
};
struct DeflateEnd {
  void operator()(z_stream* z) const noexcept { deflateEnd(z); }
};

[[noreturn]] void corrupt_gzip(const z_stream& z, int rc) {
  const char* why = z.msg != nullptr ? z.msg : (rc == Z_BUF_ERROR ? "truncated input" : zError(rc));
  throw Error(ErrorCode::UserDataBadGzip, std::string("gzip: corrupt data (") + why + ")");
}

// zlib itself failed (not the data): out of memory, or a zlib that does not match.
[[noreturn]] void zlib_failed(const char* what, const char* call, int rc) {
  const std::string cause = rc == Z_MEM_ERROR       ? "out of memory"
                            : rc == Z_VERSION_ERROR ? "the zlib library does not match its header"
                            : rc >= Z_OK            ? "the output did not fit deflateBound's size"
                                                    : zError(rc);
  throw Error(ErrorCode::System, std::string(what) + ": zlib's " + call + " failed (" + cause +
                                     ", zlib " + zlibVersion() + ")");
}

z_stream make_stream(const detail::ZlibAllocator& allocator) {
  z_stream z{};
  z.zalloc = allocator.alloc;
  z.zfree = allocator.free;
  z.opaque = allocator.opaque;
  return z;
}

}  // namespace

std::string gunzip(std::string_view data, std::size_t max_output) {
  return detail::gunzip(data, max_output, {});
}

std::string gzip(std::string_view data) { return detail::gzip(data, {}); }

std::string detail::gunzip(std::string_view data, std::size_t max_output,
                           const ZlibAllocator& allocator) {
  z_stream z = make_stream(allocator);
  if (const int rc = inflateInit2(&z, kGzipWindowBits); rc != Z_OK)
    zlib_failed("gunzip", "inflateInit2", rc);
  const std::unique_ptr<z_stream, InflateEnd> guard(&z);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));  // NOLINT: zlib's API
  std::size_t in_left = data.size();
  std::string out;
  std::array<char, std::size_t{16} * 1024> chunk{};
  for (;;) {
    if (z.avail_in == 0 && in_left > 0) {
      z.avail_in = static_cast<uInt>(std::min<std::size_t>(in_left, 1U << 30));
      in_left -= z.avail_in;
    }
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = chunk.size() - z.avail_out;
    // One byte past the limit tells "exactly at the limit" from "over it".
    if (got > max_output - out.size())
      detail::throw_over_limit("gunzipped user-data", max_output, "max_decoded");
    out.append(chunk.data(), got);
    if (rc == Z_STREAM_END) {
      // A second gzip member follows (as `cat a.gz b.gz` makes): gunzip reads them all.
      if (z.avail_in == 0 && in_left == 0) break;
      if (inflateReset(&z) != Z_OK) corrupt_gzip(z, Z_STREAM_ERROR);
      continue;
    }
    if (rc == Z_MEM_ERROR) zlib_failed("gunzip", "inflate", rc);
    if (rc != Z_OK) corrupt_gzip(z, rc);  // Z_BUF_ERROR: input ended inside the stream
  }
  return out;
}

std::string detail::gzip(std::string_view data, const ZlibAllocator& allocator) {
  z_stream z = make_stream(allocator);
  if (const int rc = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                                  Z_DEFAULT_STRATEGY);
      rc != Z_OK)
    zlib_failed("gzip", "deflateInit2", rc);
  const std::unique_ptr<z_stream, DeflateEnd> guard(&z);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));  // NOLINT: zlib's API
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (const int rc = deflate(&z, Z_FINISH); rc != Z_STREAM_END) zlib_failed("gzip", "deflate", rc);
  out.resize(z.total_out);
  return out;
}

}  // namespace cloudtwin::core
