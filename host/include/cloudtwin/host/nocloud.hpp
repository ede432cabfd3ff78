#pragma once
// The NoCloud seed CD of a planned VM (NOCLOUD = YES): what cloud-init images read.

#include <string>

#include "cloudtwin/host/vm_plan.hpp"

namespace cloudtwin::host {

// NoCloud seed files (cloud-init's NoCloud datasource, volume label `cidata`).
struct NoCloudSeed {
  std::string meta_data;       // instance-id, local-hostname, public-keys
  std::string user_data;       // decoded USER_DATA, or an empty #cloud-config
  std::string network_config;  // version 2, NICs matched by MAC; empty with NETWORK=NO
  bool operator==(const NoCloudSeed&) const = default;
};
NoCloudSeed render_nocloud(const VmPlan& plan);

}  // namespace cloudtwin::host
