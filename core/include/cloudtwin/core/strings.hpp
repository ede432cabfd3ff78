#pragma once
// The string helpers every module needs, in one place (ASCII only: the inputs are
// config keys, template attributes, header names, never user prose).

#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::core {

// Whitespace in every helper below: space, \t, \n, \r, \v, \f.
inline constexpr std::string_view kAsciiSpace = " \t\n\r\v\f";

// `s` without leading and trailing whitespace (a view into `s`).
std::string_view trim(std::string_view s) noexcept;
std::string upper(std::string_view s);
std::string lower(std::string_view s);
// The non-empty pieces of `s` separated by any of `separators`, each trimmed.
// words("a, b,,c") == {"a", "b", "c"}.
std::vector<std::string> words(std::string_view s, std::string_view separators = " \t,");
bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept;
bool equals_icase(std::string_view a, std::string_view b) noexcept;
// `text` with & < > " ' as XML entities: safe in element text and in either kind of
// attribute quotes.
std::string xml_escape(std::string_view text);

}  // namespace cloudtwin::core
