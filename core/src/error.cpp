#include "cloudtwin/core/error.hpp"

namespace cloudtwin {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::BadMacLength:
      return "bad-mac-length";
    case ErrorCode::BadMacHex:
      return "bad-mac-hex";
    case ErrorCode::BadMacPrefix:
      return "bad-mac-prefix";
    case ErrorCode::BadIpv4:
      return "bad-ipv4";
    case ErrorCode::BadIpv6:
      return "bad-ipv6";
    case ErrorCode::ContextSyntax:
      return "context-syntax";
    case ErrorCode::ContextBadKey:
      return "context-bad-key";
    case ErrorCode::ContextNul:
      return "context-nul";
    case ErrorCode::ContextBadValue:
      return "context-bad-value";
    case ErrorCode::UserDataTooLarge:
      return "user-data-too-large";
    case ErrorCode::UserDataBadBase64:
      return "user-data-bad-base64";
    case ErrorCode::UserDataBadGzip:
      return "user-data-bad-gzip";
    case ErrorCode::UserDataBadMime:
      return "user-data-bad-mime";
    case ErrorCode::InvalidArgument:
      return "invalid-argument";
    case ErrorCode::NotFound:
      return "not-found";
    case ErrorCode::Io:
      return "io";
    case ErrorCode::System:
      return "system";
  }
  return "unknown";
}

ParseError::ParseError(ErrorCode code, std::string source, std::size_t line, std::size_t column,
                       const std::string& what)
    : Error(code, source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what),
      source_(std::move(source)),
      line_(line),
      column_(column),
      reason_(what) {}

}  // namespace cloudtwin
