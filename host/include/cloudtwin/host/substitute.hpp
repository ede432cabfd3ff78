#pragma once
// OpenNebula's template references in CONTEXT values, replaced as text (never a shell):
//   $NAME                      a single value (NAME, VMID, UNAME, ...)
//   $NIC[IP]                   attribute of the first NIC
//   $NIC[IP, NETWORK="lan"]    attribute of the first NIC whose NETWORK is lan
//   $USER[SSH_PUBLIC_KEY]      attribute of the (only) USER vector
// As in OpenNebula, a reference to something undefined becomes the empty string, and a
// '$' not followed by a name is kept as is.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::host {

using AttributeMap = std::map<std::string, std::string, std::less<>>;

struct SubstitutionScope {
  AttributeMap singles;                                                   // NAME -> value
  std::map<std::string, std::vector<AttributeMap>, std::less<>> vectors;  // NIC -> [..]
};

// Throws Error(InvalidArgument) naming `where` for a malformed reference ($NIC[IP without ']').
std::string substitute_references(std::string_view text, const SubstitutionScope& scope,
                                  std::string_view where);

}  // namespace cloudtwin::host
