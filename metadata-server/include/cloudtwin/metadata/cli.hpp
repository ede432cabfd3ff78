#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/metadata/config.hpp"

namespace cloudtwin::metadata {

struct CliOptions {
  bool help = false;
  bool version = false;
  std::optional<std::string> config_file;    // --config; default file used only if it exists
  std::vector<ListenSpec> listen;            // --listen, repeatable; replaces the config's list
  std::optional<std::string> instances_dir;  // --records DIR (alias --instances)
  std::optional<std::string> libvirt_uri;    // --libvirt URI
  std::optional<std::string> ctl_socket;     // --ctl-socket PATH
  std::optional<std::string> state_dir;      // --state-dir DIR
  std::optional<std::string> log_file;       // --log-file FILE
  std::optional<std::string> identity_key;
  std::optional<std::string> identity_cert;
  bool access_log = false;
};

// Pure flag parsing. Throws Error(InvalidArgument) naming the bad flag.
CliOptions parse_cli(const std::vector<std::string>& args);

// Config file (if any) first, then flags on top.
Config effective_config(const CliOptions& options, const std::optional<std::string>& config_text,
                        const std::string& config_source, std::vector<std::string>& warnings);

// Entry point of `cloudtwin-metadata`: args exclude argv[0]. Returns the exit code.
// Serving prints "listening on ADDR:PORT" per listener to `out`, then blocks.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::metadata
