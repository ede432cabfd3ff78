#pragma once
// Helpers shared by the host tests that run real tools (qemu-img, isoinfo, xorriso...).
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace cloudtwin::host::testing {

// Runs `cmd` through /bin/sh (test scaffolding only) and returns its standard output.
inline std::string sh(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  return out;
}

inline bool have(const std::string& tool) {
  return !sh("command -v " + tool + " 2>/dev/null").empty();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "cloudtwin-host-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace cloudtwin::host::testing
