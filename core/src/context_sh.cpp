#include "cloudtwin/core/context_sh.hpp"

#include <algorithm>
#include <array>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::core {

namespace {

bool is_name_start(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string describe(char c) {
  if (c == '\n') return "end of line";
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0x0f];
  }
  return std::string("'") + c + "'";
}

// Reads context.sh byte by byte, tracking 1-based line and column for errors.
class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  ContextVars parse() {
    reject_nul();
    ContextVars vars;
    while (!eof()) {
      skip_blanks();
      if (eof()) break;
      const char c = peek();
      if (c == '\n') {
        advance();
      } else if (c == '#') {
        skip_comment();
      } else {
        auto [key, value] = parse_assignment();
        vars.insert_or_assign(std::move(key), std::move(value));
      }
    }
    return vars;
  }

 private:
  struct Mark {
    std::size_t line, column;
  };

  bool eof() const noexcept { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const noexcept {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool has(std::size_t ahead) const noexcept { return pos_ + ahead < text_.size(); }
  void advance() noexcept {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }
  Mark mark() const noexcept { return {line_, column_}; }

  [[noreturn]] void fail(ErrorCode code, const std::string& what) const {
    fail_at(code, mark(), what);
  }
  [[noreturn]] void fail_at(ErrorCode code, Mark at, const std::string& what) const {
    throw ParseError(code, std::string(source_), at.line, at.column, what);
  }

  // bash silently drops NUL bytes, so a value holding one would read differently
  // in bash and here: refuse the file instead.
  void reject_nul() const {
    const auto nul = text_.find('\0');
    if (nul == std::string_view::npos) return;
    const auto before = text_.substr(0, nul);
    const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const auto last_nl = before.rfind('\n');
    const auto column = last_nl == std::string_view::npos ? nul + 1 : nul - last_nl;
    fail_at(ErrorCode::ContextNul, {line, column},
            "NUL byte; context.sh cannot hold NUL (a shell variable cannot), encode binary "
            "values, e.g. in base64");
  }

  void skip_blanks() noexcept {
    while (!eof() && is_blank(peek())) advance();
  }
  void skip_comment() noexcept {
    while (!eof() && peek() != '\n') advance();
  }

  std::pair<std::string, std::string> parse_assignment() {
    if (text_.substr(pos_).starts_with("export") && has(6) && is_blank(peek(6))) {
      for (int i = 0; i < 6; ++i) advance();
      skip_blanks();
    }
    const Mark key_at = mark();
    if (eof() || !is_name_start(peek())) {
      fail(ErrorCode::ContextBadKey, "expected a variable name ([A-Za-z_][A-Za-z0-9_]*), found " +
                                         (eof() ? std::string("end of file") : describe(peek())));
    }
    std::string key;
    while (!eof() && is_name_char(peek())) {
      key.push_back(peek());
      advance();
    }
    if (eof() || peek() != '=') {
      if (!eof() && is_blank(peek())) {
        fail(ErrorCode::ContextSyntax,
             "expected '=' right after " + key + " (a shell assignment has no spaces around '=')");
      }
      if (eof() || peek() == '\n') {
        fail_at(ErrorCode::ContextSyntax, key_at,
                "'" + key + "' is not an assignment; context.sh may only contain KEY=VALUE lines");
      }
      fail(ErrorCode::ContextBadKey,
           describe(peek()) + " is not allowed in a variable name (after '" + key + "')");
    }
    advance();  // '='
    std::string value = parse_word(key);
    skip_blanks();
    if (!eof() && peek() == '#') skip_comment();
    if (!eof() && peek() != '\n') {
      fail(ErrorCode::ContextSyntax,
           "unexpected " + describe(peek()) + " after the value of " + key +
               "; quote values that contain spaces, and put one assignment per line");
    }
    return {std::move(key), std::move(value)};
  }

  std::string parse_word(const std::string& key) {
    std::string out;
    while (!eof()) {
      const char c = peek();
      if (is_blank(c) || c == '\n') break;
      switch (c) {
        case '\'':
          read_single_quoted(out, key);
          break;
        case '"':
          read_double_quoted(out, key);
          break;
        case '\\':
          read_backslash_unquoted(out);
          break;
        case '$':
        case '`':
          fail(ErrorCode::ContextSyntax,
               "unquoted " + describe(c) + " in the value of " + key +
                   " would be expanded by the shell; cloudtwin never evaluates context.sh, "
                   "so write the value literally in single quotes");
        case '~':
          fail(ErrorCode::ContextSyntax,
               "unquoted '~' in the value of " + key +
                   " would be expanded by the shell to a home directory; quote it");
        case ';':
        case '&':
        case '|':
        case '(':
        case ')':
        case '<':
        case '>':
          fail(ErrorCode::ContextSyntax,
               "shell operator " + describe(c) + " in the value of " + key +
                   "; context.sh may only assign variables (quote the value if it is data)");
        default:
          out.push_back(c);
          advance();
      }
    }
    return out;
  }

  void read_single_quoted(std::string& out, const std::string& key) {
    const Mark open = mark();
    advance();
    while (true) {
      if (eof()) {
        fail_at(ErrorCode::ContextSyntax, open, "unterminated single quote in the value of " + key);
      }
      const char c = peek();
      advance();
      if (c == '\'') return;
      out.push_back(c);
    }
  }

  // bash: inside "...", a backslash quotes only $ ` " \ and newline.
  void read_double_quoted(std::string& out, const std::string& key) {
    const Mark open = mark();
    advance();
    while (true) {
      if (eof()) {
        fail_at(ErrorCode::ContextSyntax, open, "unterminated double quote in the value of " + key);
      }
      const char c = peek();
      if (c == '"') {
        advance();
        return;
      }
      if (c == '\\' && has(1)) {
        const char next = peek(1);
        if (next == '$' || next == '`' || next == '"' || next == '\\') {
          advance();
          out.push_back(next);
          advance();
          continue;
        }
        if (next == '\n') {  // line continuation: both bytes vanish
          advance();
          advance();
          continue;
        }
      }
      if (c == '$' || c == '`') {
        fail(ErrorCode::ContextSyntax, describe(c) + " inside double quotes in the value of " +
                                           key +
                                           " would be expanded by the shell; escape it as \\" +
                                           std::string(1, c) + " or use single quotes");
      }
      out.push_back(c);
      advance();
    }
  }

  void read_backslash_unquoted(std::string& out) {
    if (!has(1)) fail(ErrorCode::ContextSyntax, "backslash at end of file escapes nothing");
    advance();
    const char next = peek();
    advance();
    if (next != '\n') out.push_back(next);  // backslash-newline is a line continuation
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
};

// Variables bash refuses to assign or whose value changes on every read: a
// context.sh naming them cannot round-trip through `source`.
constexpr std::array<std::string_view, 24> kBashSpecial = {
    "BASHOPTS",     "BASHPID",     "BASH_ARGC",     "BASH_ARGV",     "BASH_ARGV0", "BASH_COMMAND",
    "BASH_LINENO",  "BASH_SOURCE", "BASH_SUBSHELL", "BASH_VERSINFO", "DIRSTACK",   "EPOCHREALTIME",
    "EPOCHSECONDS", "EUID",        "FUNCNAME",      "GROUPS",        "HISTCMD",    "LINENO",
    "PPID",         "RANDOM",      "SECONDS",       "SHELLOPTS",     "SRANDOM",    "UID"};

}  // namespace

bool is_shell_name(std::string_view key) noexcept {
  return !key.empty() && is_name_start(key.front()) &&
         std::all_of(key.begin(), key.end(), is_name_char);
}

ContextVars parse_context_sh(std::string_view text, std::string_view source_name) {
  return Parser(text, source_name).parse();
}

std::string quote_shell_single(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('\'');
  for (const char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string serialize_context_sh(const ContextVars& vars) {
  std::string out = "# Context variables generated by cloudtwin\n";
  for (const auto& [key, value] : vars) {
    if (!is_shell_name(key)) {
      throw Error(
          ErrorCode::ContextBadKey,
          "context variable name '" + key + "' is not a valid shell name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (std::find(kBashSpecial.begin(), kBashSpecial.end(), key) != kBashSpecial.end()) {
      throw Error(ErrorCode::ContextBadKey,
                  "context variable name '" + key +
                      "' is a read-only or dynamic bash variable; `source context.sh` could not "
                      "set it. Choose another name");
    }
    if (const auto nul = value.find('\0'); nul != std::string::npos) {
      throw Error(ErrorCode::ContextNul,
                  "value of context variable " + key + " has a NUL byte at offset " +
                      std::to_string(nul) +
                      "; a shell variable cannot hold NUL, so encode the value (e.g. base64)");
    }
    out += key;
    out.push_back('=');
    out += quote_shell_single(value);
    out.push_back('\n');
  }
  return out;
}

}  // namespace cloudtwin::core
