#pragma once
// Every datasource the agent knows, in one table: its name (in [datasources] order and
// --datasources), what it is, the agent.conf keys it reads, the command-line option that
// points it at one place, and its constructor. The names, the keys' checks, the options
// and --help all come from here, as afterburn's provider match does for its providers.
// A new datasource is its own file (a Datasource, whose accessors default to "none"),
// one row in datasource_registry.cpp, and its tests.

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/agent/agent_config.hpp"
#include "cloudtwin/agent/context_cd.hpp"
#include "cloudtwin/agent/datasource.hpp"
#include "cloudtwin/agent/ec2.hpp"

namespace cloudtwin::agent {

// One run of `local` or `final`: what the constructors share (the adapters, as seams),
// and what they leave behind: objects that must live as long as the sources, and work
// to do once `local` has finished.
struct SourceRun {
  using MetadataClientFactory = std::function<std::unique_ptr<MetadataClient>(
      std::vector<MetadataEndpoint>, std::chrono::milliseconds timeout)>;

  std::string stage = "local";  // local | final
  std::filesystem::path root = "/";
  int device_attempts = 3;  // --cd-attempts: looks for a seed device (`final`: once)
  DiskLocator* locator = nullptr;
  ContextCdDatasource::Opener open_disk;
  MetadataClientFactory metadata_client;

  std::vector<std::unique_ptr<MetadataClient>> clients;
  std::vector<std::function<void(std::ostream& err)>> after_local;
};

struct DatasourceKind {
  std::string_view name;         // "nocloud"
  std::string_view description;  // one line, for --help
  // The option that points the source at one place ("--nocloud-device PATH"); empty: none.
  std::string_view location_option;
  std::string_view location_help;
  // A disk: when any disk's location is given, only the sources given one are probed.
  // Otherwise (an endpoint) the location only replaces the default address.
  bool location_is_disk = false;
  std::vector<SettingSpec> settings;  // the agent.conf keys it reads
  std::unique_ptr<Datasource> (*make)(SourceRun& run, const AgentConfig& config,
                                      const std::optional<std::string>& location) = nullptr;
};

// The table, in the default probing order.
const std::vector<DatasourceKind>& datasource_kinds();
std::vector<std::string> datasource_names();

// A datasource's key: the file's value or the default. Throws ParseError for a bad value,
// Error(InvalidArgument) for a key no row declares (a constructor reads only its own keys).
int setting(const AgentConfig& config, std::string_view key);

// Checks what the table governs in a parsed config: the names in order and every
// datasource key's value. Throws ParseError with the file's name and line.
void check_datasource_config(const AgentConfig& config);

// The sources to probe, in config.order, for `locations` (datasource name -> the value of
// its location option).
std::vector<std::unique_ptr<Datasource>> make_datasources(
    SourceRun& run, const AgentConfig& config, const std::map<std::string, std::string>& locations);

}  // namespace cloudtwin::agent
