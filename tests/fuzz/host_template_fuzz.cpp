// libFuzzer target for the OpenNebula template parser and $REF substitution (host/).
// Invariants beyond "no crash": a parse either succeeds or throws cloudtwin::Error,
// a ParseError points inside the input (1-based line <= lines + 1), and substituting
// references in any parsed value either succeeds or throws cloudtwin::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/substitute.hpp"
#include "cloudtwin/host/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n' ? 1U : 0U;
  cloudtwin::host::VmTemplate tmpl;
  try {
    tmpl = cloudtwin::host::parse_vm_template(text, "fuzz");
  } catch (const cloudtwin::ParseError& e) {
    if (e.line() == 0 || e.line() > lines || e.column() == 0) __builtin_trap();
    return 0;
  } catch (const cloudtwin::Error&) {
    return 0;
  }
  cloudtwin::host::SubstitutionScope scope;
  scope.singles["NAME"] = "vm";
  scope.vectors["NIC"] = {{{"IP", "10.0.0.2"}, {"NETWORK", "lan"}}};
  for (const auto& [key, value] : tmpl.context) {
    try {
      (void)cloudtwin::host::substitute_references(value, scope, key);
    } catch (const cloudtwin::Error&) {
    }
  }
  return 0;
}
