#pragma once
// The INI syntax of cloudtwin's configuration files (/etc/cloudtwin/agent.conf,
// host.conf, metadata.conf): "[section]" headers, "key = value" lines, '#' or ';'
// comment lines, blank lines; whitespace around names and values is dropped. Pure: each
// program's reader gets the entries and decides what its keys mean.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::core {

struct IniEntry {
  std::string key;    // "section.name" (".name" before any section header)
  std::string value;  // as written, trimmed
  std::size_t line = 0;
};

// Throws ParseError(InvalidArgument, source, line, 1, ...) for a section header without
// ']' or a line that is not "key = value".
std::vector<IniEntry> parse_ini(std::string_view text, const std::string& source);

}  // namespace cloudtwin::core
