#pragma once
// Private to the CLI: parsed arguments of one `cloudtwin net|vm ...` invocation.
#include <iosfwd>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cloudtwin/host/cli.hpp"

namespace cloudtwin::host {

// A usage error: printed with the usage text, exit code 2.
struct UsageError {
  std::string message;
};

struct Args {
  std::vector<std::string> positional;         // after the command words
  std::map<std::string, std::string> options;  // --name VALUE
  std::set<std::string> flags;                 // --json

  bool json() const { return flags.count("--json") != 0; }
  std::string option(const std::string& name) const {
    const auto it = options.find(name);
    return it == options.end() ? std::string() : it->second;
  }
};

// Splits args; `valued` lists the options that take a value. Throws UsageError.
Args parse_args(const std::vector<std::string>& args, std::size_t from,
                const std::set<std::string>& valued, const std::set<std::string>& flags);

struct CliContext {
  const CliEnv& env;
  HostConfig config;
  std::string uri;
  std::ostream& out;
  std::ostream& err;
};

int run_net(const std::string& verb, const Args& args, CliContext& ctx);
int run_vm(const std::string& verb, const Args& args, CliContext& ctx);
int run_image(const std::string& verb, const Args& args, CliContext& ctx);
// `image import` parses its own options (args from index `from`) and reads host.conf.
int run_image_import(const std::vector<std::string>& args, std::size_t from, const CliEnv& env,
                     const std::string& config_path, std::ostream& out, std::ostream& err);
int run_vm_power(const std::string& verb, const Args& args, CliContext& ctx);  // start|stop|...
int run_host(const std::string& verb, const Args& args, CliContext& ctx);      // host_commands.cpp
int run_inventory(const std::string& verb, const Args& args, CliContext& ctx);
int run_cloud(const std::string& verb, const Args& args, CliContext& ctx,
              const std::string& config_path);

// Shared by the command files.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);
std::string need_one(const Args& a, const std::string& what);

}  // namespace cloudtwin::host
