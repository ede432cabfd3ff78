#pragma once
// Private: run a program with an argument vector (posix_spawnp, never a shell).
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::host {

// Runs args and returns its exit status (128+signal when killed). `on_stdout`, when set,
// receives the program's standard output as it arrives; otherwise stdout is inherited.
// Throws Error(System) when the program cannot be started.
int run_process(const std::vector<std::string>& args,
                const std::function<void(std::string_view)>& on_stdout = {});

}  // namespace cloudtwin::host
