#include "cloudtwin/host/substitute.hpp"

#include <cctype>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {
namespace {

using core::trim;
using core::upper;

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

struct Reference {
  std::string vector;
  std::string attribute;
  std::string select_key;  // empty: first element
  std::string select_value;
};

std::string lookup(const Reference& r, const SubstitutionScope& scope) {
  const auto v = scope.vectors.find(r.vector);
  if (v == scope.vectors.end()) return "";
  for (const auto& element : v->second) {
    if (!r.select_key.empty()) {
      const auto sel = element.find(r.select_key);
      if (sel == element.end() || sel->second != r.select_value) continue;
    }
    const auto a = element.find(r.attribute);
    return a == element.end() ? "" : a->second;
  }
  return "";
}

}  // namespace

std::string substitute_references(std::string_view text, const SubstitutionScope& scope,
                                  std::string_view where) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || !name_char(text[i + 1])) {
      out.push_back(text[i++]);
      continue;
    }
    const auto start = i++;
    while (i < text.size() && name_char(text[i])) ++i;
    const auto name = upper(text.substr(start + 1, i - start - 1));
    if (i >= text.size() || text[i] != '[') {
      const auto s = scope.singles.find(name);
      if (s != scope.singles.end()) out += s->second;
      continue;
    }
    const auto close = text.find(']', i);
    if (close == std::string_view::npos) {
      throw Error(ErrorCode::InvalidArgument, std::string(where) + ": reference $" + name +
                                                  "[ at offset " + std::to_string(start) +
                                                  " has no closing ']'");
    }
    const auto inside = text.substr(i + 1, close - i - 1);
    Reference r;
    r.vector = name;
    const auto comma = inside.find(',');
    r.attribute = upper(trim(inside.substr(0, comma)));
    if (comma != std::string_view::npos) {
      const auto selector = inside.substr(comma + 1);
      const auto eq = selector.find('=');
      if (eq == std::string_view::npos) {
        throw Error(ErrorCode::InvalidArgument, std::string(where) + ": reference $" + name + "[" +
                                                    std::string(inside) +
                                                    "]: expected KEY=\"value\" after ','");
      }
      r.select_key = upper(trim(selector.substr(0, eq)));
      r.select_value = unquote(std::string(trim(selector.substr(eq + 1))));
    }
    if (r.attribute.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string(where) + ": reference $" + name + "[] names no attribute");
    }
    out += lookup(r, scope);
    i = close + 1;
  }
  return out;
}

}  // namespace cloudtwin::host
