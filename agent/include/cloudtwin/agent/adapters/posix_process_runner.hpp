#pragma once
#include <memory>

#include "cloudtwin/agent/user_data_run.hpp"

namespace cloudtwin::agent {

// posix_spawn (vfork-like, no copy of the agent) with
// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin and HOME=/root only: nothing of
// the agent's own environment (nor a context variable) leaks in.
std::unique_ptr<ProcessRunner> make_posix_process_runner();

}  // namespace cloudtwin::agent
