// The cloudtwin-mime plugin: cloudtwin_core_mime as a shared module that the agent
// loads with dlopen the first time it meets MIME user-data (agent/adapters/
// mime_plugin.cpp). The agent carries its own (static) C++ runtime, so nothing may
// unwind across this boundary: the one exported function catches everything and hands
// errors back as a code and a message.
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"

extern "C" __attribute__((visibility("default"))) int cloudtwin_mime_split(
    const char* data, std::size_t size, const cloudtwin::core::UserDataLimits* limits,
    std::vector<cloudtwin::core::UserDataPart>* parts, int* error_code,
    std::string* error) noexcept {
  try {
    *parts = cloudtwin::core::split_mime_user_data(std::string_view(data, size), *limits);
    return 0;
  } catch (const cloudtwin::Error& e) {
    *error_code = static_cast<int>(e.code());
    *error = e.what();
  } catch (const std::bad_alloc&) {
    *error_code = -1;
    *error = "out of memory";
  } catch (const std::exception& e) {
    *error_code = static_cast<int>(cloudtwin::ErrorCode::UserDataBadMime);
    *error = std::string("user-data: MIME message: ") + e.what();
  } catch (...) {
    *error_code = static_cast<int>(cloudtwin::ErrorCode::UserDataBadMime);
    *error = "user-data: MIME message: unknown error";
  }
  return 1;
}
