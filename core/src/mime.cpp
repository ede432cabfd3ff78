// MIME multipart user-data, split with Poco::Net's MIME reader. This is the only part
// of the core that needs Poco; it is its own library (cloudtwin_core_mime) so that the
// agent loads Poco only when a VM really is given MIME user-data (as the cloudtwin-mime
// plugin, see agent/adapters/mime_plugin.cpp); everything else links it directly.
#include <Poco/Exception.h>
#include <Poco/Net/MediaType.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/QuotedPrintableDecoder.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <istream>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "encoding_detail.hpp"
#include "user_data_detail.hpp"

namespace cloudtwin::core {
namespace {

using detail::kind_for_content_type;
using detail::kUndefinedType;
using detail::lower;
using detail::match_prefix;
using detail::MemoryStream;
using detail::PrefixRule;
using detail::read_bounded;
using detail::throw_too_large;
using detail::trim;

// ---- gzip -------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 4> kGzipTypes{"application/gzip", "application/x-gzip",
                                                     "application/gzip-compressed",
                                                     "application/x-gzip-compressed"};

bool is_gzip_type(std::string_view content_type) noexcept {
  return std::find(kGzipTypes.begin(), kGzipTypes.end(), content_type) != kGzipTypes.end();
}

// ---- MIME -------------------------------------------------------------------------------------

struct ContentType {
  std::string type;     // lowercase, e.g. "text"
  std::string subtype;  // lowercase, e.g. "x-shellscript"
  Poco::Net::NameValueCollection params;
  std::string full() const { return type + "/" + subtype; }
};

// Like Python's email package: a missing or malformed Content-Type is text/plain.
ContentType content_type_of(const Poco::Net::MessageHeader& header) {
  ContentType ct{"text", "plain", {}};
  if (!header.has("Content-Type")) return ct;
  const Poco::Net::MediaType media(header.get("Content-Type"));
  std::string type = lower(trim(media.getType()));
  std::string subtype = lower(trim(media.getSubType()));
  if (type.empty() || subtype.empty() || subtype.find('/') != std::string::npos) return ct;
  ct.type = std::move(type);
  ct.subtype = std::move(subtype);
  for (const auto& [name, value] : media.parameters()) ct.params.add(name, value);
  return ct;
}

std::string filename_of(const Poco::Net::MessageHeader& header, const ContentType& ct) {
  if (header.has("Content-Disposition")) {
    std::string disposition;
    Poco::Net::NameValueCollection params;
    Poco::Net::MessageHeader::splitParameters(header.get("Content-Disposition"), disposition,
                                              params);
    std::string name = params.get("filename", "");
    if (!name.empty()) return name;
  }
  return ct.params.get("name", "");  // the older Content-Type name= parameter, as Python does
}

// Poco's MultipartReader only sees a boundary after a line break, and the line break ending the
// header block is already consumed; so "headers, blank line, --boundary" (an empty body without the
// extra line break RFC 2046 wants; Python's email package accepts it) would swallow the next part
// into this one. We refuse that instead of mis-splitting.
bool starts_with_delimiter(std::string_view body, std::string_view boundary) noexcept {
  if (body.size() < boundary.size() + 2 || body.substr(0, 2) != "--" ||
      body.substr(2, boundary.size()) != boundary) {
    return false;
  }
  const std::string_view rest = body.substr(boundary.size() + 2);
  return rest.empty() || rest.front() == '\r' || rest.front() == '\n' || rest.substr(0, 2) == "--";
}

std::string part_label(const std::string& path) {
  return path.empty() ? std::string("user-data: MIME message: ")
                      : "user-data: MIME part " + path + ": ";
}

class Splitter {
 public:
  explicit Splitter(const UserDataLimits& limits) : limits_(limits) {}

  std::vector<UserDataPart> run(std::string_view message) {
    guarded("", [&] {
      MemoryStream in(message);
      Poco::Net::MessageHeader header;
      header.read(in);
      // MessageHeader::read leaves the blank line that ends the header block.
      if (in.peek() == '\r') in.get();
      if (in.peek() == '\n') in.get();
      in.exceptions(std::ios::badbit);
      std::string body = read_bounded(in, message.size(), "MIME body", "max_decoded");
      entity(header, std::move(body), "", 1);
    });
    return std::move(parts_);
  }

 private:
  // Poco reports malformed MIME with its own exceptions; turn them into our error with the part.
  template <class F>
  void guarded(const std::string& path, F&& f) {
    try {
      f();
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const Poco::Exception& e) {
      throw Error(ErrorCode::UserDataBadMime, part_label(path) + e.displayText());
    } catch (const std::exception& e) {
      throw Error(ErrorCode::UserDataBadMime, part_label(path) + e.what());
    }
  }

  void entity(const Poco::Net::MessageHeader& header, std::string body, const std::string& path,
              std::size_t depth) {
    const ContentType ct = content_type_of(header);
    if (ct.type == "multipart") {
      multipart(ct, body, path, depth);
    } else {
      leaf(header, ct, std::move(body), path);
    }
  }

  void multipart(const ContentType& ct, const std::string& body, const std::string& path,
                 std::size_t depth) {
    if (depth > limits_.max_depth) {
      throw Error(ErrorCode::UserDataTooLarge,
                  part_label(path) + "multipart nested " + std::to_string(depth) +
                      " levels deep, over the limit of " + std::to_string(limits_.max_depth) +
                      " (UserDataLimits::max_depth)");
    }
    const std::string boundary = ct.params.get("boundary", "");
    // RFC 2046 allows 1 to 70 characters; Poco asserts on longer ones.
    if (boundary.empty() || boundary.size() > 70) {
      throw Error(ErrorCode::UserDataBadMime,
                  part_label(path) + ct.full() +
                      (boundary.empty() ? " has no boundary parameter"
                                        : " boundary is " + std::to_string(boundary.size()) +
                                              " characters; RFC 2046 allows at most 70"));
    }
    MemoryStream in(body);
    Poco::Net::MultipartReader reader(in, boundary);
    for (std::size_t index = 1;; ++index) {
      const std::string child =
          path.empty() ? std::to_string(index) : path + "." + std::to_string(index);
      Poco::Net::MessageHeader part_header;
      std::string part_body;
      bool more = true;
      try {
        guarded(child, [&] {
          more = reader.hasNextPart();
          if (!more) return;
          reader.nextPart(part_header);
          std::istream& part_stream = reader.stream();
          part_stream.exceptions(std::ios::badbit);
          part_body = read_bounded(part_stream, body.size(), "MIME part", "max_decoded");
          // Without a closing delimiter Poco ends the last part at end of input and appends a
          // spurious 0xff (EOF cast to char). Truncated user-data must not run half-way anyway.
          const auto* part_in = dynamic_cast<const Poco::Net::MultipartInputStream*>(&part_stream);
          if (part_in != nullptr && !part_in->lastPart() &&
              in.rdbuf()->sgetc() == std::char_traits<char>::eof()) {
            throw Error(ErrorCode::UserDataBadMime,
                        part_label(child) + "input ends before the closing boundary \"--" +
                            boundary + "--\"; is the user-data truncated?");
          }
          if (starts_with_delimiter(part_body, boundary)) {
            throw Error(ErrorCode::UserDataBadMime,
                        part_label(child) +
                            "boundary line right after the part headers; an empty part needs a "
                            "blank line before the next boundary (RFC 2046)");
          }
        });
      } catch (const Error& e) {
        if (e.code() != ErrorCode::UserDataBadMime) throw;
        throw Error(e.code(), std::string(e.what()) + " (boundary \"" + boundary + "\")");
      }
      if (!more) break;
      if (++entities_ > limits_.max_parts) {
        throw Error(ErrorCode::UserDataTooLarge, part_label(child) + "more than " +
                                                     std::to_string(limits_.max_parts) +
                                                     " MIME parts (UserDataLimits::max_parts)");
      }
      guarded(child, [&] { entity(part_header, std::move(part_body), child, depth + 1); });
    }
  }

  std::string transfer_decode(const Poco::Net::MessageHeader& header, std::string body,
                              const std::string& path) {
    const std::string encoding = lower(trim(header.get("Content-Transfer-Encoding", "")));
    if (encoding == "base64") {
      try {
        return base64_decode(body);
      } catch (const Error& e) {
        throw Error(e.code(), part_label(path) + "Content-Transfer-Encoding base64: " + e.what());
      }
    }
    if (encoding == "quoted-printable") {
      MemoryStream in(body);
      Poco::Net::QuotedPrintableDecoder decoder(in);
      decoder.exceptions(std::ios::badbit);
      return read_bounded(decoder, body.size(), "quoted-printable part", "max_decoded");
    }
    // 7bit, 8bit, binary, and (like Python's email package) unknown encodings: the body as is.
    return body;
  }

  void leaf(const Poco::Net::MessageHeader& header, const ContentType& ct, std::string body,
            const std::string& path) {
    std::string content = transfer_decode(header, std::move(body), path);
    std::string content_type = ct.full();
    // cloud-init trusts text/x-shellscript only when it has a "#!" line, and types text/plain
    // parts by their first line.
    bool sniff = content_type == kUndefinedType || content_type == "text/x-not-multipart" ||
                 content_type == "text/x-shellscript";
    if (looks_gzip(content)) {
      try {
        content = gunzip(content, limits_.max_decoded - content_bytes_);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::UserDataTooLarge)
          throw Error(e.code(), part_label(path) + e.what());
        throw Error(e.code(), part_label(path) + "gunzipped, the parts so far are more than " +
                                  std::to_string(limits_.max_decoded) +
                                  " bytes, over the limit (UserDataLimits::max_decoded)");
      }
      if (is_gzip_type(content_type)) {
        content_type = kUndefinedType;  // the real type is only known from the content now
        sniff = true;
      }
    }
    if (sniff) {
      if (const PrefixRule* rule = match_prefix(content)) content_type = rule->content_type;
    }
    if (content.size() > limits_.max_decoded - content_bytes_) {
      throw_too_large(part_label(path) + "decoded parts", content_bytes_ + content.size(),
                      limits_.max_decoded, "max_decoded");
    }
    content_bytes_ += content.size();

    UserDataPart part;
    part.kind = kind_for_content_type(content_type);
    part.content_type = std::move(content_type);
    part.filename = filename_of(header, ct);
    if (part.filename.empty()) part.filename = default_filename(parts_.size() + 1);
    part.content = std::move(content);
    parts_.push_back(std::move(part));
  }

  static std::string default_filename(std::size_t number) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "part-%03zu", number);
    return buf.data();
  }

  const UserDataLimits& limits_;
  std::vector<UserDataPart> parts_;
  std::size_t entities_ = 0;       // parts read by a MultipartReader, at every nesting level
  std::size_t content_bytes_ = 0;  // decoded content of all parts so far
};

}  // namespace

std::vector<UserDataPart> split_mime_user_data(std::string_view message,
                                               const UserDataLimits& limits) {
  return Splitter(limits).run(message);
}

namespace {
// Linking this library is enough: split_user_data then splits MIME with it.
[[maybe_unused]] const MimeSplitter kPrevious = set_mime_splitter(&split_mime_user_data);
}  // namespace

}  // namespace cloudtwin::core
