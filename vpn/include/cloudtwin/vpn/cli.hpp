#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace cloudtwin::vpn {

// Entry point of `cloudtwin vpn ...`: args exclude argv[0]. Returns the process exit code.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::vpn
