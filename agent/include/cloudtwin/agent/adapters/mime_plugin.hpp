#pragma once
// MIME multipart user-data through the cloudtwin-mime plugin (core/src/mime_plugin.cpp):
// Poco::Net is loaded with dlopen the first time a VM really has MIME user-data, so an
// ordinary boot does not pay for mapping and binding it (see agent/CMakeLists.txt).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::agent {

// Where the plugin is looked for, in order: $CLOUDTWIN_MIME_PLUGIN, next to the running
// executable (the build tree), then the installed CLOUDTWIN_PLUGIN_DIR.
std::vector<std::string> mime_plugin_candidates();

// The plugin's one exported function (core/src/mime_plugin.cpp): 0 and `parts`, or 1
// and an ErrorCode (-1: out of memory) with a message. Never throws: the agent and the
// plugin each have their own C++ runtime.
using MimePluginEntry = int (*)(const char* data, std::size_t size,
                                const core::UserDataLimits* limits,
                                std::vector<core::UserDataPart>* parts, int* error_code,
                                std::string* error) noexcept;

// Loads the first candidate that is a cloudtwin-mime plugin. Null when none is, with
// `why` naming each candidate and its dlopen error.
MimePluginEntry load_mime_plugin(const std::vector<std::string>& candidates, std::string& why);

// Calls the plugin; its errors are thrown here as cloudtwin::Error.
std::vector<core::UserDataPart> call_mime_plugin(MimePluginEntry entry, std::string_view message,
                                                 const core::UserDataLimits& limits);

// core::MimeSplitter that loads the plugin on first use (once per process) and calls it.
// Throws Error(UserDataBadMime) naming every place it looked when there is no plugin.
std::vector<core::UserDataPart> split_mime_with_plugin(std::string_view message,
                                                       const core::UserDataLimits& limits);

// Makes core::split_user_data use split_mime_with_plugin unless the program already
// links cloudtwin_core_mime.
void use_mime_plugin();

}  // namespace cloudtwin::agent
