// libFuzzer target for the AWS credentials and config files (awscli INI, both styles)
// and the credential chain over them. Beyond "no crash": only cloudtwin::Error escapes,
// and no error message ever contains the secret written in the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/core/error.hpp"

namespace {

constexpr std::string_view kSecret = "Zsecret9Zsecret9";

class OneFile : public cloudtwin::aws::ConfigFiles {
 public:
  explicit OneFile(std::string text) : text_(std::move(text)) {}
  std::optional<cloudtwin::aws::ConfigFile> read(const std::string& path) const override {
    if (path == "/h/.aws/credentials") return cloudtwin::aws::ConfigFile{text_, 0600};
    if (path == "/h/.aws/config") return cloudtwin::aws::ConfigFile{text_, 0644};
    return std::nullopt;
  }

 private:
  std::string text_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace aws = cloudtwin::aws;
  std::string text(reinterpret_cast<const char*>(data), size);
  // Every line the fuzzer writes may end with the secret: it must never be echoed.
  std::string with_secret;
  for (const char c : text) {
    if (c == '\n') with_secret += kSecret;
    with_secret += c;
  }
  for (const bool config : {false, true}) {
    try {
      (void)aws::parse_aws_ini(with_secret, "f", config);
    } catch (const cloudtwin::Error& e) {
      if (std::string_view(e.what()).find(kSecret) != std::string_view::npos) __builtin_trap();
    }
  }
  try {
    (void)aws::resolve_aws_settings({{"HOME", "/h"}, {"AWS_PROFILE", "p"}}, OneFile(with_secret),
                                    {});
  } catch (const cloudtwin::Error& e) {
    if (std::string_view(e.what()).find(kSecret) != std::string_view::npos) __builtin_trap();
  }
  return 0;
}
