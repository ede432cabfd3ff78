// libFuzzer target for the context.sh parser. Invariants checked beyond "no crash":
// a parse either succeeds or throws cloudtwin::Error; whatever parses, re-serialises
// and parses back to the same variables (unless a key is a bash special name).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cloudtwin::core::ContextVars vars;
  try {
    vars = cloudtwin::core::parse_context_sh(text);
  } catch (const cloudtwin::Error&) {
    return 0;
  }
  std::string written;
  try {
    written = cloudtwin::core::serialize_context_sh(vars);
  } catch (const cloudtwin::Error& e) {
    // Only bash's read-only names and NUL (impossible after a parse) may be refused.
    if (e.code() != cloudtwin::ErrorCode::ContextBadKey) __builtin_trap();
    return 0;
  }
  if (cloudtwin::core::parse_context_sh(written) != vars) __builtin_trap();
  return 0;
}
