// Wiring only: behaviour lives in the cloudtwin_metadata library.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/cli.hpp"

int main(int argc, char** argv) {
  try {
    return cloudtwin::metadata::run_cli(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                        std::cerr);
  } catch (const cloudtwin::Error& e) {
    std::cerr << "cloudtwin-metadata: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "cloudtwin-metadata: internal error: " << e.what() << "\n";
    return 1;
  }
}
