#include "cloudtwin/agent/context_cd.hpp"

#include <thread>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

std::string base_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

ContextCdDatasource::ContextCdDatasource(DiskLocator& locator, Opener opener,
                                         ContextCdOptions options, Sleeper sleep)
    : locator_(locator),
      opener_(std::move(opener)),
      options_(std::move(options)),
      sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::optional<std::string> ContextCdDatasource::find_device() {
  if (options_.device) return options_.device;
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    if (auto device = locator_.find_by_label(options_.label)) return device;
    if (attempt < options_.attempts) sleep_(options_.retry_delay);
  }
  return std::nullopt;
}

bool ContextCdDatasource::probe() {
  const auto device = find_device();
  if (!device) return false;
  device_ = *device;
  auto disk = opener_(device_);
  const auto text = disk->read_file("context.sh", options_.max_context_size);
  if (!text) {
    throw Error(ErrorCode::NotFound, "context CD " + device_ + " (volume '" + disk->volume_id() +
                                         "') has no context.sh; is it an OpenNebula context CD?");
  }
  // A syntax error throws ParseError naming device:context.sh:line:column; nothing is
  // half-applied because the whole file is parsed before anything is used.
  context_.emplace(core::parse_context_sh(*text, device_ + ":context.sh"));
  if (disk->volume_id() != options_.label) {
    warnings_.push_back("context CD " + device_ + " has volume label '" + disk->volume_id() +
                        "', expected '" + options_.label + "'; using it anyway");
  }
  read_files(*disk);
  return true;
}

void ContextCdDatasource::read_files(ContextDisk& disk) {
  // FILES and INIT_SCRIPTS name host paths; OpenNebula puts them on the CD by base name.
  std::vector<std::string> names = context_->files();
  for (const auto& s : context_->init_scripts()) names.push_back(s);
  for (const auto& path : names) {
    const auto name = base_name(path);
    if (name.empty() || name == "context.sh") continue;
    bool seen = false;
    for (const auto& f : files_) seen = seen || f.name == name;
    if (seen) continue;
    try {
      if (auto content = disk.read_file(name, options_.max_file_size)) {
        files_.push_back({name, std::move(*content)});
      } else {
        warnings_.push_back("context CD " + device_ + ": file '" + name +
                            "' listed in FILES/INIT_SCRIPTS is not on the CD");
      }
    } catch (const Error& e) {
      warnings_.push_back(e.what());
    }
  }
}

std::optional<std::string> ContextCdDatasource::instance_id() const {
  if (!context_) return std::nullopt;
  return context_->get("VMID");
}

std::optional<std::string> ContextCdDatasource::hostname() const {
  if (!context_) return std::nullopt;
  return context_->hostname();
}

std::vector<std::string> ContextCdDatasource::ssh_public_keys() const {
  if (!context_) return {};
  return context_->ssh_public_keys();
}

std::optional<std::string> ContextCdDatasource::user_data() const {
  if (!context_) return std::nullopt;
  return context_->user_data();
}

NetworkPlan ContextCdDatasource::network_plan(const PlanOptions& options) const {
  if (!context_) return {};
  return plan_from_context(*context_, options);
}

}  // namespace cloudtwin::agent
