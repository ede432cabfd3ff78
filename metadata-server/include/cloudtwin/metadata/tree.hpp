#pragma once
// The EC2 metadata tree of one instance, built once per record and then only read.
// Listings are written exactly as EC2 writes them: entries separated by LF, no final
// LF, subtrees with a trailing '/', sorted by name; public-keys/ lists "0=name".

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::metadata {

// The API versions EC2 lists at "/", oldest first, "latest" last. All are served
// with the same tree (EC2 hides a few newer categories under old versions; no
// client we know depends on that).
const std::vector<std::string>& api_versions();
bool is_api_version(std::string_view name);

enum class IdentityFormat { Signature, Pkcs7, Rsa2048 };

// Signs the instance identity document with the host's key. Lives here because the
// tree uses it; the OpenSSL implementation is an adapter (openssl_signer.hpp).
class IdentitySigner {
 public:
  virtual ~IdentitySigner() = default;
  // Base64 text as EC2 serves it (lines of 64 characters, no PEM armour).
  virtual std::string sign(IdentityFormat format, std::string_view document) const = 0;
};

// What the host adds to every record it serves: the signer of the identity document,
// and the values EC2 always has that a record may leave out. Thread-safe.
class HostIdentity {
 public:
  // `account_id`: [imds] account_id or the host's derived one (12 digits). `now`: the
  // wall clock, read when an instance id is first seen.
  HostIdentity(const IdentitySigner* signer, std::string account_id,
               std::function<std::chrono::system_clock::time_point()> now);
  const IdentitySigner* signer() const { return signer_; }
  const std::string& account_id() const { return account_id_; }
  // pendingTime for a record without pending-time: when this server first loaded that
  // instance id (ISO 8601), the same across reloads of the record.
  std::string first_loaded(const std::string& instance_id) const;
  // The record with account-id and pending-time filled where it leaves them out.
  record::Instance complete(record::Instance instance) const;

 private:
  const IdentitySigner* signer_;
  std::string account_id_;
  std::function<std::chrono::system_clock::time_point()> now_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::string> first_loaded_;
};

// The instance identity document, formatted as EC2 formats it ("key" : value).
std::string identity_document(const record::Instance& instance);

class MetadataTree {
 public:
  enum class Kind { NotFound, Leaf, Directory };
  // A leaf computed on first use, then kept: the identity signatures cost an RSA
  // operation each, and 10,000 records must load in a moment. Thread-safe.
  class Lazy {
   public:
    explicit Lazy(std::function<std::string()> make) : make_(std::move(make)) {}
    const std::string& get() const {
      std::call_once(once_, [this] { value_ = make_(); });
      return value_;
    }

   private:
    std::function<std::string()> make_;
    mutable std::once_flag once_;
    mutable std::string value_;
  };
  struct Entry {
    Kind kind = Kind::NotFound;
    std::string body;                  // the value, or the listing (empty when lazy)
    std::shared_ptr<const Lazy> lazy;  // set for leaves computed on first use

    std::string_view value() const { return lazy ? std::string_view(lazy->get()) : body; }
  };

  // Adds a leaf at "a/b/c" (no leading or trailing slash), creating directories.
  void put(std::string_view path, std::string value);
  // Adds a leaf whose value `make` computes on its first request.
  void put_lazy(std::string_view path, std::function<std::string()> make);
  // Replaces a directory's computed listing (public-keys/ and the version root).
  void put_listing(std::string_view dir_path, std::string listing);
  // Computes listings; call once after the last put.
  void finish();

  // Looks up a path relative to a version root ("" = the root, "meta-data/",
  // "meta-data/ami-id"). One trailing '/' is ignored; empty segments, "." and ".."
  // never match anything.
  const Entry& find(std::string_view path) const;

 private:
  // Transparent hash: find() looks up a string_view without building a string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string, std::string> listing_overrides_;
};

// Interruption notices posted with `cloudtwin-metadata ctl` (not part of the record):
// preformatted JSON / text, empty = not posted, so the tree shows the path only when set.
struct Notices {
  std::string spot_instance_action;          // meta-data/spot/instance-action
  std::string spot_termination_time;         // meta-data/spot/termination-time
  std::string maintenance_scheduled = "[]";  // meta-data/events/maintenance/scheduled
  std::string maintenance_history = "[]";    // meta-data/events/maintenance/history
  std::string rebalance;                     // meta-data/events/recommendations/rebalance
  std::string lifecycle_state;               // meta-data/autoscaling/target-lifecycle-state
  bool operator==(const Notices&) const = default;
};

// What the server keeps per record: the record and its tree.
struct ServedInstance {
  record::Instance instance;
  MetadataTree tree;
  std::string name;  // where it came from: libvirt domain name or file stem (for `ctl`)
};

// Builds the full tree (meta-data/, dynamic/, user-data). `signer` may be null: the
// identity document is then served without signatures. Otherwise the signatures are
// made on first request, so `signer` must outlive the tree.
MetadataTree build_tree(const record::Instance& instance, const IdentitySigner* signer,
                        const Notices& notices = {});

// The record completed by `host` (when not null) and its tree, signed by host's signer.
// `host` must outlive the result.
std::shared_ptr<const ServedInstance> make_served(record::Instance instance,
                                                  const HostIdentity* host, std::string name = {},
                                                  const Notices& notices = {});

}  // namespace cloudtwin::metadata
