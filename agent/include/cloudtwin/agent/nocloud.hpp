#pragma once
// NoCloud (cloud-init's seed CD, volume label cidata/CIDATA): meta-data, user-data and
// network-config (v1 or v2) read in user space through the same ContextDisk/DiskLocator
// seams as the context CD. The YAML parsers are pure (yaml-cpp), tested on text tables.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/agent/context_cd.hpp"

namespace cloudtwin::agent {

struct NoCloudMetaData {
  std::string instance_id;
  std::optional<std::string> local_hostname;
  std::vector<std::string> public_keys;
  bool operator==(const NoCloudMetaData&) const = default;
};

// instance-id (required), local-hostname (or hostname), public-keys (a list, a string or a
// map of name -> key). Throws ParseError naming source:line:column.
NoCloudMetaData parse_nocloud_meta_data(std::string_view text, const std::string& source);

// network-config version 1 (config: physical/nameserver entries with subnets) or 2
// (ethernets with match.macaddress), optionally under a top-level `network:` key. NICs
// are matched by MAC: entries without one are left out with a warning. Throws ParseError
// for broken YAML, an unknown version or a malformed value.
NetworkPlan parse_network_config(std::string_view text, const std::string& source,
                                 const PlanOptions& options = {});

class NoCloudDatasource : public Datasource {
 public:
  using Opener = ContextCdDatasource::Opener;
  using Sleeper = ContextCdDatasource::Sleeper;

  // options.label is tried as given, then upper-cased ("cidata", "CIDATA").
  NoCloudDatasource(DiskLocator& locator, Opener opener, ContextCdOptions options,
                    Sleeper sleep = {});

  std::string name() const override { return "nocloud"; }
  bool probe() override;
  std::string location() const override { return device_; }

  std::optional<std::string> instance_id() const override { return meta_.instance_id; }
  std::optional<std::string> hostname() const override { return meta_.local_hostname; }
  std::vector<std::string> ssh_public_keys() const override { return meta_.public_keys; }
  std::optional<std::string> user_data() const override { return user_data_; }
  NetworkPlan network_plan(const PlanOptions& options) const override;
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  std::optional<std::string> find_device();

  DiskLocator& locator_;
  Opener opener_;
  ContextCdOptions options_;
  Sleeper sleep_;
  std::string device_;
  NoCloudMetaData meta_;
  std::optional<std::string> user_data_;
  std::optional<std::string> network_config_;
  std::vector<std::string> warnings_;
};

}  // namespace cloudtwin::agent
