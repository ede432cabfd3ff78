#pragma once
// ConfigFiles over the real file system (the file's permission bits come with it), and
// the process environment as an Environment.

#include "cloudtwin/aws/credentials.hpp"

namespace cloudtwin::aws {

class LocalConfigFiles : public ConfigFiles {
 public:
  // Throws Error(Io) for a file that exists but cannot be read (the message names it).
  std::optional<ConfigFile> read(const std::string& path) const override;
};

// The AWS_* variables and HOME of this process.
Environment process_environment();

}  // namespace cloudtwin::aws
