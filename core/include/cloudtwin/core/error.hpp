#pragma once
// The one error convention of cloudtwin (see CONTRIBUTING.md):
// functions throw cloudtwin::Error (or a subclass) carrying a machine-readable
// ErrorCode and a message that says what was wrong, where, and what to do.
// Executables catch cloudtwin::Error at main() and print what() with exit code 1.
// Adapters translate foreign exceptions (Poco, Boost, libvirt errors) into Error
// at the module boundary so callers only ever see one type.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace cloudtwin {

enum class ErrorCode {
  // addresses
  BadMacLength,
  BadMacHex,
  BadMacPrefix,
  BadIpv4,
  BadIpv6,
  // context.sh
  ContextSyntax,
  ContextBadKey,
  ContextNul,
  ContextBadValue,
  // user-data
  UserDataTooLarge,
  UserDataBadBase64,
  UserDataBadGzip,
  UserDataBadMime,
  // generic
  InvalidArgument,
  NotFound,
  Io,
  System,
};

const char* to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

// An error at a position in a text input (1-based line and byte column).
class ParseError : public Error {
 public:
  ParseError(ErrorCode code, std::string source, std::size_t line, std::size_t column,
             const std::string& what);
  const std::string& source() const noexcept { return source_; }
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }
  // The message without the "source:line:column: " prefix.
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string source_;
  std::size_t line_;
  std::size_t column_;
  std::string reason_;
};

}  // namespace cloudtwin
