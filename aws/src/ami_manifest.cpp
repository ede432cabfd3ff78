#include "cloudtwin/aws/ami_manifest.hpp"

#include <algorithm>
#include <charconv>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "xml_reader.hpp"

namespace cloudtwin::aws {

namespace {

[[noreturn]] void bad(std::string_view source, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument, "manifest " + std::string(source) + ": " + why);
}

std::string hex_of(std::string_view source, std::string_view what, std::string text,
                   std::size_t size) {
  text = core::lower(core::trim(text));
  const bool ok = !text.empty() && (size == 0 || text.size() == size) &&
                  text.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!ok)
    bad(source, std::string(what) + " is not " + (size ? std::to_string(size) + " " : "") +
                    "hexadecimal digits");
  return text;
}

std::uint64_t number(std::string_view source, std::string_view what, std::string_view text) {
  text = core::trim(text);
  std::uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
    bad(source, std::string(what) + " '" + std::string(text) + "' is not a number");
  return v;
}

// From the opening tag of `first` to the end of the closing tag of `last`, as written.
std::string signed_region(std::string_view xml, std::string_view source) {
  const auto begin = xml.find("<machine_configuration>");
  const auto end_tag = std::string_view("</image>");
  const auto end = xml.rfind(end_tag);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    bad(source, "no <machine_configuration> ... </image> to check the signature over");
  return std::string(xml.substr(begin, end + end_tag.size() - begin));
}

}  // namespace

AmiManifest parse_ami_manifest(std::string_view text, std::string_view source) {
  const xml::Document doc(text, "manifest " + std::string(source));
  const auto& root = doc.root();
  if (root.localName() != "manifest") bad(source, "the root element is not <manifest>");
  const std::string what = "manifest " + std::string(source);
  AmiManifest m;
  m.version = xml::required(root, "version", what);
  if (const auto* mc = xml::child(root, "machine_configuration"))
    m.architecture = xml::text(*mc, "architecture");
  const auto& image = xml::required_child(root, "image", what);
  m.name = xml::required(image, "name", what);
  m.size = number(source, "<size>", xml::required(image, "size", what));
  m.digest_sha1 = hex_of(source, "<image><digest>", xml::required(image, "digest", what), 40);
  m.user_encrypted_key =
      hex_of(source, "<user_encrypted_key>", xml::required(image, "user_encrypted_key", what), 0);
  m.user_encrypted_iv =
      hex_of(source, "<user_encrypted_iv>", xml::required(image, "user_encrypted_iv", what), 0);
  if (const auto k = xml::text(image, "ec2_encrypted_key"); !k.empty())
    m.ec2_encrypted_key = hex_of(source, "<ec2_encrypted_key>", k, 0);
  if (const auto v = xml::text(image, "ec2_encrypted_iv"); !v.empty())
    m.ec2_encrypted_iv = hex_of(source, "<ec2_encrypted_iv>", v, 0);

  const auto& parts = xml::required_child(image, "parts", what);
  for (const auto* p : xml::children(parts, "part")) {
    AmiBundlePart part;
    const auto index = p->getAttribute("index");
    part.index = static_cast<std::size_t>(number(source, "<part index>", index));
    part.filename = xml::required(*p, "filename", what);
    if (part.filename.empty() || part.filename.find('/') != std::string::npos ||
        part.filename == "." || part.filename == "..")
      bad(source, "part " + index + ": file name '" + part.filename + "' is not a plain name");
    part.sha1 =
        hex_of(source, "part " + index + " <digest>", xml::required(*p, "digest", what), 40);
    m.parts.push_back(std::move(part));
  }
  if (m.parts.empty()) bad(source, "<parts> lists no <part>");
  std::sort(m.parts.begin(), m.parts.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < m.parts.size(); ++i) {
    if (m.parts[i].index != i)
      bad(source, "part " + std::to_string(i) + " is missing or listed twice");
  }
  m.signature = hex_of(source, "<signature>", xml::required(root, "signature", what), 0);
  m.signed_text = signed_region(text, source);
  return m;
}

}  // namespace cloudtwin::aws
