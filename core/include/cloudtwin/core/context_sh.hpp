#pragma once
// OpenNebula's context.sh: a file of shell variable assignments. We read it without
// ever running a shell, and write it so that `source context.sh` in bash and our
// parser yield exactly the same bytes for every value.

#include <map>
#include <string>
#include <string_view>

namespace cloudtwin::core {

// Key -> value, keys sorted. Assigning a key twice keeps the last value, as bash does.
using ContextVars = std::map<std::string, std::string, std::less<>>;

// True for a valid shell variable name: [A-Za-z_][A-Za-z0-9_]*.
bool is_shell_name(std::string_view key) noexcept;

// Parses context.sh. Accepted, per line:
//   blank lines and '#' comments;
//   [export ]KEY=VALUE [# comment]
// where VALUE is any concatenation of 'single-quoted' text (OpenNebula's '\'' escape
// is the concatenation '...'\''...'), "double-quoted" text with bash's backslash rules,
// backslash-escaped characters and plain unquoted characters. Anything bash would
// expand ($, `, ~, globs in commands) or execute is refused, never evaluated.
// Throws ParseError(ContextSyntax|ContextBadKey) with 1-based line and column;
// on error nothing is returned, so nothing can be half-applied.
ContextVars parse_context_sh(std::string_view text, std::string_view source_name = "context.sh");

// Writes KEY='value' lines (OpenNebula's quoting: ' becomes '\''), in key order,
// under a header comment. Throws Error(ContextBadKey) for a key that is not a shell
// name or names a bash read-only variable, Error(ContextNul) for a value with NUL.
std::string serialize_context_sh(const ContextVars& vars);

// One assignment, quoted as above, without the trailing newline.
std::string quote_shell_single(std::string_view value);

}  // namespace cloudtwin::core
