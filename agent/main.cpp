// Wiring only: behaviour lives in the cloudtwin_agent library.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cloudtwin/agent/adapters/mime_plugin.hpp"
#include "cloudtwin/agent/cli.hpp"
#include "cloudtwin/core/error.hpp"

int main(int argc, char** argv) {
  try {
    cloudtwin::agent::use_mime_plugin();
    return cloudtwin::agent::run_cli(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                     std::cerr);
  } catch (const cloudtwin::Error& e) {
    std::cerr << "cloudtwin-agent: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "cloudtwin-agent: internal error: " << e.what() << "\n";
    return 1;
  }
}
