#pragma once
// Adapter: the kernel's CSPRNG (getrandom(2)).
#include "cloudtwin/metadata/tokens.hpp"

namespace cloudtwin::metadata {

class OsRandom : public Random {
 public:
  // Throws Error(System) if the kernel cannot supply random bytes.
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace cloudtwin::metadata
