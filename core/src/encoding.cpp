// Transport encodings of user-data and context values: base64 and gzip (Poco).
#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/DeflatingStream.h>
#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>

#include <array>
#include <cstdio>
#include <new>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "encoding_detail.hpp"

namespace cloudtwin::core {
namespace detail {

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(s[i]) != ascii_lower(prefix[i])) return false;
  }
  return true;
}

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

Poco::MemoryInputStream memory_stream(std::string_view data) {
  return Poco::MemoryInputStream(data.data(), static_cast<std::streamsize>(data.size()));
}

// Reads a (decoding) stream to its end in chunks, never holding more than limit + 1 bytes:
// this is what stops a gzip bomb. The stream must have exceptions(badbit) set so that an
// exception thrown inside its streambuf reaches us instead of silently ending the read.
[[noreturn]] static void throw_over_limit(const std::string& what, std::size_t limit,
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
  auto in = memory_stream(clean);
  Poco::Base64Decoder decoder(in);
  decoder.exceptions(std::ios::badbit);
  // Validated above, so the decoded size is known and bounded by the input.
  return read_bounded(decoder, clean.size() / 4 * 3, "base64 output", "max_decoded");
}

}  // namespace detail

using detail::Base64Scan;
using detail::decode_clean_base64;
using detail::memory_stream;
using detail::read_bounded;
using detail::scan_base64;

std::string base64_decode(std::string_view text) {
  Base64Scan scan = scan_base64(text);
  if (scan.error_offset) {
    throw Error(ErrorCode::UserDataBadBase64,
                "base64: " + scan.error + " at byte offset " + std::to_string(*scan.error_offset));
  }
  try {
    return decode_clean_base64(scan.clean);
  } catch (const Poco::Exception& e) {  // not expected after validation; keep the one error type
    throw Error(ErrorCode::UserDataBadBase64, "base64: " + e.displayText());
  }
}

std::string base64_encode(std::string_view bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  encoder.close();
  return out.str();
}

bool looks_gzip(std::string_view data) noexcept {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string gunzip(std::string_view data, std::size_t max_output) {
  try {
    auto in = memory_stream(data);
    Poco::InflatingInputStream inflater(in, Poco::InflatingStreamBuf::STREAM_GZIP);
    inflater.exceptions(std::ios::badbit);
    return read_bounded(inflater, max_output, "gunzipped user-data", "max_decoded");
  } catch (const Error&) {
    throw;
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::UserDataBadGzip, "gzip: corrupt data (" + e.displayText() + ")");
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::UserDataBadGzip, std::string("gzip: corrupt data (") + e.what() + ")");
  }
}

std::string gzip(std::string_view data) {
  // Poco's DeflatingStreamBuf writes nothing at all when nothing was written to it; this is what
  // zlib produces for an empty gzip member (no name, mtime 0, OS unix).
  if (data.empty())
    return std::string(
        "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  std::ostringstream out;
  Poco::DeflatingOutputStream deflater(out, Poco::DeflatingStreamBuf::STREAM_GZIP);
  deflater.write(data.data(), static_cast<std::streamsize>(data.size()));
  deflater.close();
  return out.str();
}

}  // namespace cloudtwin::core
