#include "cloudtwin/core/ini.hpp"

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::core {
std::vector<IniEntry> parse_ini(std::string_view text, const std::string& source) {
  std::vector<IniEntry> out;
  std::string section;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        throw ParseError(ErrorCode::InvalidArgument, source, number, 1,
                         "section header '" + std::string(line) + "' without ']'");
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw ParseError(ErrorCode::InvalidArgument, source, number, 1,
                       "expected 'key = value', found '" + std::string(line) + "'");
    }
    out.push_back({section + "." + std::string(trim(line.substr(0, eq))),
                   std::string(trim(line.substr(eq + 1))), number});
  }
  return out;
}

}  // namespace cloudtwin::core
