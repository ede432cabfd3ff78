// OpenNebula template syntax -> attributes. A small recursive-descent parser over the
// text with a cursor that tracks line and column for every error.
#include <cctype>
#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/template.hpp"

namespace cloudtwin::host {
namespace {

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  std::vector<TemplateAttr> parse() {
    std::vector<TemplateAttr> attrs;
    for (;;) {
      skip_blank(true);
      if (at_end()) return attrs;
      attrs.push_back(attribute());
      end_of_line();
    }
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  SourcePos here() const { return {line_, column_}; }

  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  [[noreturn]] void fail(SourcePos at, const std::string& what) const {
    throw ParseError(ErrorCode::InvalidArgument, std::string(source_), at.line, at.column, what);
  }

  std::string describe_here() const {
    if (at_end()) return "end of input";
    const char c = peek();
    if (c == '\n') return "end of line";
    if (std::isprint(static_cast<unsigned char>(c)) != 0) return std::string("'") + c + "'";
    return "byte " + std::to_string(static_cast<unsigned>(static_cast<unsigned char>(c)));
  }

  // Skips spaces, tabs, CR and comments; newlines too when `newlines`.
  void skip_blank(bool newlines) {
    while (!at_end()) {
      const char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        advance();
      } else if (c == '#') {
        while (!at_end() && peek() != '\n') advance();
      } else {
        return;
      }
    }
  }

  void end_of_line() {
    skip_blank(false);
    if (at_end()) return;
    if (peek() != '\n')
      fail(here(), "expected end of line after the value, found " + describe_here());
    advance();
  }

  std::string name(const char* what) {
    const auto start = pos_;
    const auto at = here();
    while (!at_end() && is_name_char(peek())) advance();
    if (pos_ == start) fail(at, std::string("expected ") + what + ", found " + describe_here());
    return core::upper(text_.substr(start, pos_ - start));
  }

  void expect(char c, const std::string& context) {
    if (peek() != c) {
      fail(here(), std::string("expected '") + c + "' " + context + ", found " + describe_here());
    }
    advance();
  }

  TemplateAttr attribute() {
    TemplateAttr attr;
    attr.pos = here();
    attr.name = name("an attribute name");
    skip_blank(false);
    expect('=', "after " + attr.name);
    skip_blank(false);
    if (peek() == '[') {
      advance();
      attr.is_vector = true;
      attr.pairs = vector_body(attr.name);
    } else {
      attr.value = value(attr.name, false);
    }
    return attr;
  }

  std::vector<TemplatePair> vector_body(const std::string& owner) {
    std::vector<TemplatePair> pairs;
    for (;;) {
      skip_blank(true);
      if (peek() == ']') {
        advance();
        return pairs;
      }
      if (at_end()) fail(here(), "unterminated vector " + owner + " = [ ...: expected ']'");
      TemplatePair pair;
      pair.key = name(("a key inside " + owner + " = [ ... ]").c_str());
      skip_blank(true);
      expect('=', "after " + owner + "/" + pair.key);
      skip_blank(true);
      pair.pos = here();
      pair.value = value(owner + "/" + pair.key, true);
      pairs.push_back(std::move(pair));
      skip_blank(true);
      if (at_end()) fail(here(), "unterminated vector " + owner + " = [ ...: expected ']'");
      if (peek() == ',') {
        advance();
      } else if (peek() != ']') {
        fail(here(), "expected ',' or ']' in " + owner + " = [ ... ], found " + describe_here());
      }
    }
  }

  std::string value(const std::string& what, bool in_vector) {
    if (peek() == '"') return quoted(what);
    if (peek() == '\'') return single_quoted(what);
    const auto start = pos_;
    const auto at = here();
    while (!at_end()) {
      const char c = peek();
      if (static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == '#' || c == '"') break;
      if (in_vector && (c == ',' || c == ']')) break;
      if (c == '[' || c == ']' || c == ',') break;
      advance();
    }
    if (pos_ == start) fail(at, "expected a value for " + what + ", found " + describe_here());
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string quoted(const std::string& what) {
    const auto open = here();
    advance();
    std::string out;
    for (;;) {
      if (at_end()) fail(open, "unterminated string for " + what + ": missing closing '\"'");
      const char c = peek();
      if (c == '"') {
        advance();
        return out;
      }
      if (c == '\\') {
        const auto at = here();
        advance();
        if (at_end()) fail(at, "unterminated string for " + what + ": missing closing '\"'");
        const char e = peek();
        // OpenNebula keeps a backslash that does not escape a quote or a backslash.
        if (e != '"' && e != '\\') out.push_back('\\');
        out.push_back(e);
        advance();
        continue;
      }
      out.push_back(c);
      advance();
    }
  }

  // 'text': taken as written, no escapes (REQUIREMENTS = 'NAME = "ec2"', as OpenNebula's
  // examples quote expressions that hold double quotes).
  std::string single_quoted(const std::string& what) {
    const auto open = here();
    advance();
    std::string out;
    for (;;) {
      if (at_end()) fail(open, "unterminated string for " + what + ": missing closing \"'\"");
      const char c = peek();
      advance();
      if (c == '\'') return out;
      out.push_back(c);
    }
  }

  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t column_ = 1;
};

}  // namespace

std::vector<TemplateAttr> parse_template_attrs(std::string_view text, std::string_view source) {
  return Parser(text, source).parse();
}

}  // namespace cloudtwin::host
