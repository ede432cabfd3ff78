#include "cloudtwin/core/strings.hpp"

#include <algorithm>

namespace cloudtwin::core {
namespace {

char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

std::string_view trim(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(kAsciiSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kAsciiSpace) - first + 1);
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::vector<std::string> words(std::string_view s, std::string_view separators) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto end = s.find_first_of(separators);
    const auto piece = trim(s.substr(0, end));
    if (!piece.empty()) out.emplace_back(piece);
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
  return out;
}

bool equals_icase(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && equals_icase(s.substr(0, prefix.size()), prefix);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace cloudtwin::core
