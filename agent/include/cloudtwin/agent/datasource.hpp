#pragma once
// One interface for every place a VM's configuration can come from (context CD, NoCloud,
// EC2 metadata), in the style of afterburn's providers: every accessor defaults to "this
// source has none", so each datasource implements only what it really has.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/agent/network_plan.hpp"
#include "cloudtwin/core/context.hpp"

namespace cloudtwin::agent {

// A file shipped with the configuration (OpenNebula FILES / INIT_SCRIPTS).
struct DatasourceFile {
  std::string name;  // base name, as on the CD
  std::string content;
};

class Datasource {
 public:
  virtual ~Datasource() = default;

  virtual std::string name() const = 0;
  // Looks for the source. False: not there (not an error; the next source is tried).
  // Throws cloudtwin::Error when the source is there but cannot be read or is corrupt.
  virtual bool probe() = 0;
  // Where it was found, for the report ("/dev/sr0", "http://169.254.169.254").
  virtual std::string location() const { return {}; }
  // True when probing needs a working network (EC2): `local` then first makes sure the
  // metadata service is reachable (see plan_metadata_fallback).
  virtual bool needs_network() const { return false; }

  // Valid after probe() returned true. Accessors of one item throw for that item only
  // (a bad USER_DATA never stops the network from being planned).
  virtual std::optional<core::Context> context() const { return std::nullopt; }
  virtual std::optional<std::string> instance_id() const { return std::nullopt; }
  virtual std::optional<std::string> hostname() const { return std::nullopt; }
  virtual std::vector<std::string> ssh_public_keys() const { return {}; }
  virtual std::optional<std::string> user_data() const { return std::nullopt; }
  virtual NetworkPlan network_plan(const PlanOptions& /*options*/) const { return {}; }
  virtual std::vector<DatasourceFile> files() const { return {}; }
  // Things the user should know that did not stop the source from being used.
  virtual std::vector<std::string> warnings() const { return {}; }
};

struct ProbeResult {
  Datasource* found = nullptr;         // null: no source found
  std::vector<std::string> errors;     // sources that were present but broken
  std::vector<std::string> not_found;  // names of sources that were absent
};

// Probes in order; the first source whose probe() returns true wins. A source that
// throws is recorded and the next one is tried.
// `before` runs before each probe (the agent uses it to bring up a fallback network for
// sources that need one).
ProbeResult probe_datasources(const std::vector<std::unique_ptr<Datasource>>& sources,
                              const std::function<void(Datasource&)>& before = {});

}  // namespace cloudtwin::agent
