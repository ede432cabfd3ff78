#pragma once
// The OpenNebula context CD (ISO 9660, volume label CONTEXT): found by label and read in
// user space, never mounted and never sourced. The disk and the search are interfaces;
// the libisofs / libblkid implementations are in adapters/.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/agent/datasource.hpp"

namespace cloudtwin::agent {

// A read-only disk image with a file tree (an ISO 9660 CD, or a test fake).
class ContextDisk {
 public:
  virtual ~ContextDisk() = default;
  virtual std::string volume_id() const = 0;
  // The file's bytes; nullopt when there is no such regular file. Throws Error(Io)
  // when it cannot be read or is larger than max_size.
  virtual std::optional<std::string> read_file(std::string_view path, std::size_t max_size) = 0;
};

// Finds a block device by filesystem label.
class DiskLocator {
 public:
  virtual ~DiskLocator() = default;
  virtual std::optional<std::string> find_by_label(const std::string& label) = 0;
};

struct ContextCdOptions {
  std::string label = "CONTEXT";
  std::optional<std::string> device;  // use this device or image file, do not search
  int attempts = 1;                   // searches while the device may still be appearing
  std::chrono::milliseconds retry_delay{200};
  std::size_t max_context_size = 1024 * 1024;
  std::size_t max_file_size = 16 * 1024 * 1024;
};

class ContextCdDatasource : public Datasource {
 public:
  using Opener = std::function<std::unique_ptr<ContextDisk>(const std::string& path)>;
  using Sleeper = std::function<void(std::chrono::milliseconds)>;

  ContextCdDatasource(DiskLocator& locator, Opener opener, ContextCdOptions options,
                      Sleeper sleep = {});

  std::string name() const override { return "context-cd"; }
  bool probe() override;
  std::string location() const override { return device_; }

  std::optional<core::Context> context() const override { return context_; }
  std::optional<std::string> instance_id() const override;
  std::optional<std::string> hostname() const override;
  std::vector<std::string> ssh_public_keys() const override;
  std::optional<std::string> user_data() const override;
  NetworkPlan network_plan(const PlanOptions& options) const override;
  std::vector<DatasourceFile> files() const override { return files_; }
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  std::optional<std::string> find_device();
  void read_files(ContextDisk& disk);

  DiskLocator& locator_;
  Opener opener_;
  ContextCdOptions options_;
  Sleeper sleep_;
  std::string device_;
  std::optional<core::Context> context_;
  std::vector<DatasourceFile> files_;
  std::vector<std::string> warnings_;
};

}  // namespace cloudtwin::agent
