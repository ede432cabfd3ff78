#include "cloudtwin/agent/adapters/mime_plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {
namespace {

constexpr const char* kPluginName = "cloudtwin-mime.so";

std::string executable_dir() {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  std::string path(buf.data(), static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

struct Loaded {
  MimePluginEntry entry = nullptr;
  std::string error;  // why nothing was loaded
};

}  // namespace

std::vector<std::string> mime_plugin_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("CLOUDTWIN_MIME_PLUGIN"); env != nullptr && *env != '\0')
    out.emplace_back(env);
  if (const auto dir = executable_dir(); !dir.empty()) out.push_back(dir + "/" + kPluginName);
  out.push_back(std::string(CLOUDTWIN_PLUGIN_DIR) + "/" + kPluginName);
  return out;
}

MimePluginEntry load_mime_plugin(const std::vector<std::string>& candidates, std::string& why) {
  why.clear();
  for (const auto& path : candidates) {
    // RTLD_LOCAL: the plugin's own copy of the core stays out of our symbol scope.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* error = ::dlerror();
      why += (why.empty() ? "" : "; ") + (error != nullptr ? std::string(error) : path);
      continue;
    }
    auto entry = reinterpret_cast<MimePluginEntry>(::dlsym(handle, "cloudtwin_mime_split"));
    if (entry == nullptr) {
      why += (why.empty() ? "" : "; ") + path + ": not a cloudtwin-mime plugin";
      ::dlclose(handle);
      continue;
    }
    return entry;  // the handle stays open for the life of the process
  }
  return nullptr;
}

std::vector<core::UserDataPart> call_mime_plugin(MimePluginEntry entry, std::string_view message,
                                                 const core::UserDataLimits& limits) {
  std::vector<core::UserDataPart> parts;
  int code = 0;
  std::string error;
  if (entry(message.data(), message.size(), &limits, &parts, &code, &error) == 0) return parts;
  if (code < 0) throw std::bad_alloc();
  throw Error(static_cast<ErrorCode>(code), error);
}

std::vector<core::UserDataPart> split_mime_with_plugin(std::string_view message,
                                                       const core::UserDataLimits& limits) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] {
    std::string why;
    loaded.entry = load_mime_plugin(mime_plugin_candidates(), why);
    if (loaded.entry == nullptr)
      loaded.error =
          "MIME multipart user-data needs the cloudtwin-mime plugin (package cloudtwin-agent); "
          "not loaded: " +
          why;
  });
  if (loaded.entry == nullptr) throw Error(ErrorCode::UserDataBadMime, loaded.error);
  return call_mime_plugin(loaded.entry, message, limits);
}

void use_mime_plugin() {
  const core::MimeSplitter previous = core::set_mime_splitter(&split_mime_with_plugin);
  if (previous != nullptr) core::set_mime_splitter(previous);  // linked in: keep it
}

}  // namespace cloudtwin::agent
