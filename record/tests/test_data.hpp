#pragma once
// Fixtures of the record tests: files under tests/data.
#include <fstream>
#include <sstream>
#include <string>

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::record::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string data(const std::string& name) {
  return read_text(std::string(CLOUDTWIN_RECORD_TESTDATA) + "/" + name);
}

inline Instance sample_instance() {
  return parse_instance_json(data("sample.json"), "sample.json");
}

}  // namespace cloudtwin::record::testing
