#pragma once
// Shared fixtures of the metadata tests: the sample record, fakes for the seams.
#include <fstream>
#include <sstream>
#include <string>

#include "cloudtwin/metadata/tokens.hpp"
#include "cloudtwin/metadata/tree.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::metadata::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string sample_json() {
  return read_text(std::string(CLOUDTWIN_METADATA_TESTDATA) + "/sample.json");
}

inline record::Instance sample_instance() {
  return record::parse_instance_json(sample_json(), "sample.json");
}

// Deterministic bytes, different on every call.
class CountingRandom : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    // Distinct for 2^64 calls: the call number in the first bytes, zeros after.
    std::uint64_t n = ++calls_;
    for (auto& b : out) {
      b = static_cast<std::uint8_t>(n & 0xff);
      n >>= 8;
    }
  }

 private:
  std::uint64_t calls_ = 0;
};

class FakeSigner : public IdentitySigner {
 public:
  std::string sign(IdentityFormat format, std::string_view document) const override {
    const char* names[] = {"signature", "pkcs7", "rsa2048"};
    return std::string(names[static_cast<int>(format)]) + ":" + std::to_string(document.size());
  }
};

}  // namespace cloudtwin::metadata::testing
