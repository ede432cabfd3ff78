#pragma once
// A temporary directory removed with everything in it at the end of the test, and a
// context ISO built with genisoimage (as OpenNebula builds it: -V CONTEXT -J -R).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "cloudtwin/agent/access.hpp"

namespace cloudtwin::agent::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cloudtwin-agent-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string read_text(const std::filesystem::path& path) { return read_or_empty(path); }

inline bool have_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const auto dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

// Builds dir/<name>.iso from `files` (name -> content). Extra flags: "-J -R" by default.
inline std::filesystem::path make_iso(const TempDir& dir,
                                      const std::map<std::string, std::string>& files,
                                      const std::string& label = "CONTEXT",
                                      const std::string& flags = "-J -R") {
  const auto tree = dir.path() / ("tree-" + label);
  std::filesystem::create_directories(tree);
  for (const auto& [name, content] : files) write_file(tree / name, content);
  const auto iso = dir.path() / (label + ".iso");
  const std::string cmd = "genisoimage -quiet -V '" + label + "' " + flags + " -o '" +
                          iso.string() + "' '" + tree.string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("genisoimage failed: " + cmd);
  return iso;
}

}  // namespace cloudtwin::agent::testing
