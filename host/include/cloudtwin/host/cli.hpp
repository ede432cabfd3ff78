#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace cloudtwin::host {

// Entry point of `cloudtwin`: args exclude argv[0]. Returns the process exit code.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::host
