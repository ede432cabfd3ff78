#pragma once
// Who is asking: (listener, source address) -> the one instance served there.
// Nothing in a request header takes part in the choice.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cloudtwin/metadata/tree.hpp"

namespace cloudtwin::metadata {

using LogSink = std::function<void(const std::string&)>;

class InstanceStore {
 public:
  virtual ~InstanceStore() = default;
  // `listener` is the device a listener is bound to ("" when unbound); `address` the
  // caller's source address in canonical text form. Null when nobody is served there.
  virtual std::shared_ptr<const ServedInstance> find(std::string_view listener,
                                                     std::string_view address) = 0;
  // Every record served now (for `ctl list` and name lookups), by instance-id.
  virtual std::vector<std::shared_ptr<const ServedInstance>> all() const { return {}; }
};

// Index of served records by (network, address). A record with an empty `network`
// is served on every listener. An address claimed twice on one network is served to
// nobody: answering with the wrong VM's data is worse than answering 404.
class InstanceIndex {
 public:
  // Returns messages about conflicts (for the log).
  std::vector<std::string> build(const std::vector<std::shared_ptr<const ServedInstance>>& served);
  std::shared_ptr<const ServedInstance> find(std::string_view listener,
                                             std::string_view address) const;
  std::size_t size() const noexcept { return count_; }
  const std::vector<std::shared_ptr<const ServedInstance>>& all() const noexcept { return all_; }

 private:
  std::vector<std::shared_ptr<const ServedInstance>> all_;  // accepted, sorted by instance-id
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const ServedInstance>, std::less<>>
      by_key_;
  std::size_t count_ = 0;
};

// One JSON record per file (*.json) in a directory. find() rescans at most once per
// `min_interval` (one stat per file, files re-parsed only when their size or mtime
// changed); with `kNoRescanFromFind` only reload() rescans, so a daemon serving 10,000
// records calls reload() from a thread of its own and requests never wait for a scan.
// A corrupt file is logged once and skipped; the others are served. `defaults` fill
// the metadata-options a record leaves out ([imds] in the config).
class DirectoryInstanceStore : public InstanceStore {
 public:
  static constexpr auto kNoRescanFromFind = std::chrono::milliseconds::max();
  DirectoryInstanceStore(std::filesystem::path dir, const HostIdentity* host, LogSink log,
                         std::chrono::milliseconds min_interval = std::chrono::seconds(1),
                         record::MetadataOptions defaults = {});

  std::shared_ptr<const ServedInstance> find(std::string_view listener,
                                             std::string_view address) override;
  ~DirectoryInstanceStore() override;
  void reload();  // rescan now
  std::size_t size() const;
  std::vector<std::shared_ptr<const ServedInstance>> all() const override;
  // Rescans on a thread of its own whenever a file in the directory is written, renamed
  // or removed (inotify; falls back to once a second when inotify is unavailable).
  void watch();

 private:
  struct FileState {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    std::shared_ptr<const ServedInstance> served;  // null when the file is bad
  };
  void rescan_locked();

  std::filesystem::path dir_;
  const HostIdentity* host_;
  LogSink log_;
  std::chrono::milliseconds min_interval_;
  record::MetadataOptions defaults_;
  std::mutex scan_mutex_;     // one scan at a time; guards files_
  mutable std::mutex mutex_;  // guards index_, last_scan_, scanned_ (held briefly)
  std::chrono::steady_clock::time_point last_scan_{};
  bool scanned_ = false;
  std::map<std::string, FileState> files_;
  std::shared_ptr<const InstanceIndex> index_;
  int stop_fd_ = -1;  // eventfd that ends the watcher
  std::thread watcher_;
};

}  // namespace cloudtwin::metadata
