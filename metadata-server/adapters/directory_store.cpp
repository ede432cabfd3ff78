// Adapter: reads instance records from a directory.
#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

namespace fs = std::filesystem;

DirectoryInstanceStore::DirectoryInstanceStore(fs::path dir, const IdentitySigner* signer,
                                               LogSink log, std::chrono::milliseconds min_interval,
                                               MetadataOptions defaults)
    : dir_(std::move(dir)),
      signer_(signer),
      log_(std::move(log)),
      min_interval_(min_interval),
      defaults_(defaults),
      index_(std::make_shared<InstanceIndex>()) {}

std::shared_ptr<const ServedInstance> DirectoryInstanceStore::find(std::string_view listener,
                                                                   std::string_view address) {
  std::shared_ptr<const InstanceIndex> index;
  bool due = false;
  {
    const std::lock_guard lock(mutex_);
    if (min_interval_ != kNoRescanFromFind) {
      const auto now = std::chrono::steady_clock::now();
      due = !scanned_ || now - last_scan_ >= min_interval_;
      if (due) {
        last_scan_ = now;
        scanned_ = true;
      }
    }
    index = index_;
  }
  if (due) {
    {
      const std::lock_guard scan(scan_mutex_);
      rescan_locked();
    }
    const std::lock_guard lock(mutex_);
    index = index_;
  }
  return index->find(listener, address);
}

void DirectoryInstanceStore::reload() {
  {
    const std::lock_guard lock(mutex_);
    last_scan_ = std::chrono::steady_clock::now();
    scanned_ = true;
  }
  const std::lock_guard scan(scan_mutex_);
  rescan_locked();
}

std::size_t DirectoryInstanceStore::size() const {
  const std::lock_guard lock(mutex_);
  return index_->size();
}

void DirectoryInstanceStore::rescan_locked() {
  std::error_code ec;
  std::map<std::string, FileState> next;
  bool changed = false;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.extension() != ".json" || !it->is_regular_file(ec)) continue;
    const auto name = path.string();
    FileState state;
    state.mtime = it->last_write_time(ec);
    state.size = it->file_size(ec);
    if (ec) continue;  // vanished between listing and stat: picked up next time
    if (const auto old = files_.find(name);
        old != files_.end() && old->second.mtime == state.mtime && old->second.size == state.size) {
      next.emplace(name, old->second);
      continue;
    }
    changed = true;
    try {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw Error(ErrorCode::Io, name + ": cannot be read");
      std::ostringstream text;
      text << in.rdbuf();
      state.served = make_served(parse_instance_json(text.str(), name, defaults_), signer_);
      log_("loaded " + name + " (instance " + state.served->instance.instance_id + ")");
    } catch (const std::exception& e) {
      log_("skipping instance record: " + std::string(e.what()));
    }
    next.emplace(name, std::move(state));
  }
  if (ec) log_("cannot list instance directory " + dir_.string() + ": " + ec.message());
  if (!changed && next.size() == files_.size()) return;
  files_ = std::move(next);
  std::vector<std::shared_ptr<const ServedInstance>> served;
  for (const auto& [name, state] : files_) {
    if (state.served) served.push_back(state.served);
  }
  auto index = std::make_shared<InstanceIndex>();
  for (const auto& problem : index->build(served)) log_(problem);
  const std::lock_guard lock(mutex_);
  index_ = std::move(index);
}

}  // namespace cloudtwin::metadata
