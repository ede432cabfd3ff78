#include "cloudtwin/metadata/neighbor_table.hpp"

#include <algorithm>

namespace cloudtwin::metadata {

bool neighbor_macs_match(const record::Instance& instance,
                         const std::vector<std::string>& observed) {
  return std::all_of(observed.begin(), observed.end(), [&](const std::string& mac) {
    return std::any_of(instance.interfaces.begin(), instance.interfaces.end(),
                       [&](const record::NetworkInterface& n) { return n.mac == mac; });
  });
}

}  // namespace cloudtwin::metadata
