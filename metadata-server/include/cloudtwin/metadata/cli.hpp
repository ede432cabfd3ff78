#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace cloudtwin::metadata {

// Entry point of `cloudtwin-metadata`: args exclude argv[0]. Returns the process exit code.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::metadata
