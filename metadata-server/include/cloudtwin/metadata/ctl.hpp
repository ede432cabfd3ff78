#pragma once
// Rehearsing interruptions: `cloudtwin-metadata ctl` commands and the notices they post
// into one VM's tree (spot interruption, scheduled maintenance, rebalance recommendation,
// Auto Scaling target lifecycle state), formatted as EC2 serves them. Pure: commands
// come in as words, time is passed in; the socket is an adapter (ctl_socket.hpp).
//
//   list
//   spot VM terminate|stop|hibernate [--in SECONDS]   (default 120; hibernate 0)
//   spot VM clear
//   event VM maintenance CODE [--in SECONDS] [--duration SECONDS] [--description TEXT]
//   event VM complete|cancel EVENT-ID
//   rebalance VM [clear]
//   lifecycle VM STATE|clear
//   clear VM
// VM is an instance-id or the record's name (libvirt domain, file stem). Every change is
// handed to a Saver as the whole board in JSON (the daemon keeps it in its state dir),
// and restore() reads it back at start: notices outlive a restart.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cloudtwin/metadata/identity_credentials.hpp"
#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

// "21 Jan 2019 09:00:43 GMT", as EC2 writes it (iso8601_utc: identity_credentials.hpp).
std::string http_date_utc(std::chrono::system_clock::time_point t);

class NoticeBoard {
 public:
  // Gets the board as JSON after every change, under the board's lock (so saves land in
  // order); may throw Error, which execute() passes on (the change stays in memory).
  using Saver = std::function<void(const std::string& json)>;
  explicit NoticeBoard(Saver save = {}) : save_(std::move(save)) {}

  // Runs one command against the records served now. Returns the reply; throws
  // Error(InvalidArgument) for a bad command or an unknown VM (with usage hints).
  std::string execute(const std::vector<std::string>& args,
                      const std::vector<std::shared_ptr<const ServedInstance>>& vms,
                      std::chrono::system_clock::time_point now);
  // The notices of one instance, or nullptr when none are posted.
  std::shared_ptr<const Notices> notices(const std::string& instance_id) const;
  std::uint64_t version() const noexcept { return version_.load(); }
  // The whole board as JSON (kebab-case keys, times in seconds since the epoch).
  std::string to_json() const;
  // Replaces the board with one saved by to_json(); throws Error(InvalidArgument)
  // naming `source` and the key when the text is not such a board (the board is then
  // unchanged).
  void restore(std::string_view json, const std::string& source);
  bool empty() const noexcept { return empty_.load(); }

  struct MaintenanceEvent {
    std::string id, code, description, state;
    std::chrono::system_clock::time_point not_before, not_after;
  };
  struct VmState {
    std::string spot_action;
    std::chrono::system_clock::time_point spot_time;
    std::vector<MaintenanceEvent> scheduled, history;
    std::string rebalance_time;
    std::string lifecycle;
  };

 private:
  std::string list(const std::vector<std::shared_ptr<const ServedInstance>>& vms) const;
  void publish_locked(const std::string& instance_id);

  std::string to_json_locked() const;

  Saver save_;
  mutable std::mutex mutex_;
  std::map<std::string, VmState> states_;                          // by instance-id
  std::map<std::string, std::shared_ptr<const Notices>> notices_;  // rendered
  std::uint64_t next_event_ = 1;
  std::atomic<std::uint64_t> version_{0};
  std::atomic<bool> empty_{true};
};

// The records of `inner` with their notices in the tree. When no notice is posted
// anywhere, find() costs one atomic load more than inner.find().
class NoticeStore : public InstanceStore {
 public:
  NoticeStore(InstanceStore& inner, const NoticeBoard& board, const HostIdentity* host)
      : inner_(inner), board_(board), host_(host) {}
  std::shared_ptr<const ServedInstance> find(std::string_view listener,
                                             std::string_view address) override;
  std::vector<std::shared_ptr<const ServedInstance>> all() const override { return inner_.all(); }

 private:
  struct Cached {
    std::shared_ptr<const ServedInstance> base, derived;
    std::uint64_t version = 0;
  };
  InstanceStore& inner_;
  const NoticeBoard& board_;
  const HostIdentity* host_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;  // by instance-id
};

}  // namespace cloudtwin::metadata
