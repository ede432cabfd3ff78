// libFuzzer target for the metadata server's request handler (HTTP path routing,
// tokens, caller isolation). Input: "METHOD TARGET\nName: value\n...".
// Invariants beyond "no crash":
//   - the status is one EC2 uses; an unknown caller always gets 404;
//   - an answer to one instance never carries another instance's data;
//   - a token minted for one instance is refused (401) for another;
//   - the resolved path (request_path) never keeps "//", "." or ".." segments.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "cloudtwin/metadata/handler.hpp"
#include "cloudtwin/record/instance.hpp"

namespace md = cloudtwin::metadata;

namespace {

class FuzzRandom : public md::Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    std::uint64_t n = ++calls_;
    for (auto& b : out) {
      b = static_cast<std::uint8_t>(n & 0xff);
      n >>= 8;
    }
  }

 private:
  std::uint64_t calls_ = 0;
};

std::shared_ptr<const md::ServedInstance> make(const char* id, const char* secret,
                                               const char* options) {
  const std::string json =
      std::string(R"({"instance-id":")") + id + R"(","user-data":")" + secret +
      R"(","public-keys":[{"name":"k","openssh-key":")" + secret +
      R"("}],"network-interfaces":[{"mac":"02:00:0a:00:00:01","local-ipv4s":["10.0.0.1"]}],)" +
      R"("iam":{"role":"r","credentials":{"SecretAccessKey":")" + secret + R"("}},)" +
      R"("tags":{"Name":")" + secret + R"("},"metadata-options":)" + options + "}";
  static const md::HostIdentity host(nullptr, "123456789012",
                                     [] { return std::chrono::system_clock::from_time_t(0); });
  return md::make_served(cloudtwin::record::parse_instance_json(json, id), &host);
}

md::Request parse(std::string_view text) {
  md::Request r;
  auto line_end = text.find('\n');
  const auto first = text.substr(0, line_end);
  const auto space = first.find(' ');
  r.method = std::string(first.substr(0, space));
  r.target = space == std::string_view::npos ? "/" : std::string(first.substr(space + 1));
  while (line_end != std::string_view::npos) {
    text.remove_prefix(line_end + 1);
    line_end = text.find('\n');
    const auto line = text.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FuzzRandom random;
  static md::TokenService tokens(random);
  static md::IdentityCredentials credentials(
      random, [] { return std::chrono::system_clock::from_time_t(0); });
  static const md::Handler handler(tokens, md::TokenService::kMaxTtl, &credentials);
  static const auto a = make("i-aaaa", "SECRET-OF-A", R"({"http-tokens":"optional"})");
  static const auto b = make("i-bbbb", "SECRET-OF-B",
                             R"({"http-tokens":"required","http-put-response-hop-limit":5})");
  static const std::set<int> statuses = {200, 400, 401, 403, 404, 405};
  // Time moves an hour per input so tokens expire and the grant table stays small.
  static std::int64_t hours = 0;
  const md::Clock::time_point now{std::chrono::hours(++hours)};

  const auto request = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  // The resolved path is absolute, with no empty, "." or ".." segment left.
  std::string scratch;
  if (const auto path = md::request_path(request.target, scratch)) {
    const std::string p(*path);
    const std::string closed = p + (p.back() == '/' ? "" : "/");
    if (p.front() != '/' || p.find("//") != std::string::npos ||
        closed.find("/./") != std::string::npos || closed.find("/../") != std::string::npos) {
      __builtin_trap();
    }
  }
  const auto for_a = handler.handle(request, a.get(), now);
  const auto for_b = handler.handle(request, b.get(), now);
  const auto for_none = handler.handle(request, nullptr, now);
  if (!statuses.count(for_a.status) || !statuses.count(for_b.status)) __builtin_trap();
  if (for_none.status != 404) __builtin_trap();
  if (for_a.body.find("SECRET-OF-B") != std::string::npos ||
      for_a.body.find("i-bbbb") != std::string::npos) {
    __builtin_trap();
  }
  if (for_b.body.find("SECRET-OF-A") != std::string::npos ||
      for_b.body.find("i-aaaa") != std::string::npos) {
    __builtin_trap();
  }
  if (for_a.status == 200 && request.method == "PUT") {
    // A's fresh token must not open B's tree.
    md::Request get{"GET", "/latest/meta-data/", {{"X-aws-ec2-metadata-token", for_a.body}}};
    if (handler.handle(get, b.get(), now).status != 401) __builtin_trap();
    if (handler.handle(get, a.get(), now).status != 200) __builtin_trap();
  }
  return 0;
}
