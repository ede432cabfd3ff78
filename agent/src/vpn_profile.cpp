// The pure half of the VPN join: where the profile is, whether it is one we can use, and
// what netlink says about the tunnel.
#include <algorithm>
#include <array>
#include <cctype>

#include "cloudtwin/agent/vpn_join.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

using core::lower;
using core::trim;

constexpr std::size_t kMaxProfile = 64 * 1024;

// Directives that make openvpn run a program or load code: a profile is configuration,
// not a way to run things as root (cloudtwin's own profiles never have them).
constexpr std::array<std::string_view, 13> kRefused{
    "up",         "down",           "route-up",         "route-pre-down",        "ipchange",
    "tls-verify", "client-connect", "learn-address",    "auth-user-pass-verify", "plugin",
    "daemon",     "config",         "client-disconnect"};

struct Block {
  std::string tag;
  std::size_t line = 0;
  std::string body;
};

struct Scan {
  std::vector<std::string> out;  // the profile to install, line by line
  std::vector<Block> blocks;
  bool client = false, tls_client = false, pull = false, remote = false, dev_written = false;
};

class ProfileChecker {
 public:
  ProfileChecker(std::string origin, std::string_view ifname)
      : origin_(std::move(origin)), ifname_(ifname) {}

  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw ParseError(ErrorCode::InvalidArgument, origin_, line, 1, what);
  }

  void directive(std::string_view line, std::size_t number, Scan& s) const {
    const auto space = line.find_first_of(" \t");
    const std::string name = lower(line.substr(0, space));
    const auto arg = trim(space == std::string_view::npos ? "" : line.substr(space));
    if (std::find(kRefused.begin(), kRefused.end(), name) != kRefused.end())
      fail(number, "directive '" + name +
                       "' runs a program or reads another file; the agent refuses it in a "
                       "VPN profile (issue a new one with `cloudtwin vpn issue`)");
    if (name == "client") s.client = true;
    if (name == "tls-client") s.tls_client = true;
    if (name == "pull") s.pull = true;
    if (name == "remote") s.remote = true;
    if (name == "dev-type") {
      if (lower(arg) != "tap")
        fail(number, "dev-type '" + std::string(arg) + "': the overlay is a TAP bridge");
      return;  // replaced by ours
    }
    if (name == "dev") {
      if (!lower(arg).starts_with("tap"))
        fail(number,
             "dev '" + std::string(arg) + "': the overlay is a TAP bridge, expected dev tap");
      if (!s.dev_written) {
        s.out.push_back("dev " + std::string(ifname_));
        s.out.emplace_back("dev-type tap");
        s.dev_written = true;
      }
      return;
    }
    s.out.emplace_back(line);
  }

  void check(const Scan& s, std::size_t lines) const {
    if (!s.client && !(s.tls_client && s.pull))
      fail(1, "not an OpenVPN client profile (no 'client' line)");
    if (!s.dev_written) fail(lines, "no 'dev tap' line");
    if (!s.remote) fail(lines, "no 'remote' line: the client would not know the server");
    auto block = [&](const std::string& tag) -> const Block* {
      for (const auto& b : s.blocks)
        if (b.tag == tag) return &b;
      return nullptr;
    };
    for (const char* tag : {"ca", "cert", "key"}) {
      const Block* b = block(tag);
      if (!b) fail(lines, std::string("no inline <") + tag + "> block");
      const bool is_key = std::string_view(tag) == "key";
      const std::string_view begin = is_key ? "-----BEGIN " : "-----BEGIN CERTIFICATE-----";
      const std::string_view end = is_key ? "PRIVATE KEY-----" : "-----END CERTIFICATE-----";
      if (b->body.find(begin) == std::string::npos || b->body.find(end) == std::string::npos ||
          b->body.find("-----END ") == std::string::npos)
        fail(b->line, std::string("<") + tag + "> is not a complete PEM " +
                          (is_key ? "private key" : "certificate"));
    }
  }

 private:
  std::string origin_;
  std::string_view ifname_;
};

}  // namespace

std::string prepare_vpn_profile(std::string_view text, const std::string& origin,
                                std::string_view ifname) {
  const ProfileChecker checker(origin, ifname);
  if (text.size() > kMaxProfile)
    checker.fail(1, "profile of " + std::to_string(text.size()) + " bytes; at most 64 KiB");
  if (text.find('\0') != std::string_view::npos) checker.fail(1, "profile contains a NUL byte");
  Scan s;
  std::optional<Block> open;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const auto line = trim(raw);
    if (open) {
      s.out.emplace_back(raw);
      if (line == "</" + open->tag + ">") {
        s.blocks.push_back(std::move(*open));
        open.reset();
      } else {
        open->body += std::string(raw) + "\n";
      }
      continue;
    }
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      s.out.emplace_back(raw);
      continue;
    }
    if (line.front() == '<' && line.back() == '>' && line.size() > 2 && line[1] != '/') {
      open = Block{std::string(line.substr(1, line.size() - 2)), number, {}};
      s.out.emplace_back(line);
      continue;
    }
    checker.directive(line, number, s);
  }
  if (open) checker.fail(open->line, "<" + open->tag + "> is never closed");
  checker.check(s, number);
  std::string out =
      "# Installed by cloudtwin-agent from the VM's configuration; replaced when that "
      "changes.\n";
  for (const auto& l : s.out) out += l + "\n";
  return out;
}

std::optional<VpnProfileSource> find_vpn_profile(const Datasource& source,
                                                 std::string_view written_file) {
  if (const auto ctx = source.context()) {
    if (const auto b64 = ctx->get("VPN_PROFILE_BASE64"); b64 && !trim(*b64).empty()) {
      try {
        return VpnProfileSource{"context VPN_PROFILE_BASE64", core::base64_decode(*b64)};
      } catch (const Error& e) {
        throw Error(ErrorCode::ContextBadValue, std::string("VPN_PROFILE_BASE64: ") + e.what());
      }
    }
  }
  for (const auto& f : source.files()) {
    if (f.name == kVpnCdFileName) return VpnProfileSource{"context CD file vpn.ovpn", f.content};
  }
  try {
    // user_data() itself throws for a bad USER_DATA_ENCODING (base64, gzip).
    if (const auto data = source.user_data()) {
      int n = 0;
      for (auto& part : core::parse_user_data(*data)) {
        ++n;
        if (lower(part.content_type) == kVpnContentType)
          return VpnProfileSource{
              "user-data part " + std::to_string(n) + " (" + kVpnContentType + ")",
              std::move(part.content)};
      }
    }
  } catch (const Error&) {
    // Broken user-data is the user-data step's error to report; look further.
  }
  if (!written_file.empty())
    return VpnProfileSource{std::string(kVpnWriteFilesPath) + " (user-data write_files)",
                            std::string(written_file)};
  return std::nullopt;
}

std::optional<InterfaceAddress> vpn_overlay_address(const Datasource& source) {
  const auto ctx = source.context();
  if (!ctx) return std::nullopt;
  const auto ip = ctx->get("VPN_IP");
  if (!ip || ip->empty()) return std::nullopt;
  auto bad = [](const std::string& var, const std::string& value, const Error& e) {
    return Error(ErrorCode::ContextBadValue, var + "='" + value + "': " + e.what());
  };
  InterfaceAddress out{core::Ipv4{}, 24};
  try {
    out.ip = core::Ipv4::parse(*ip);
  } catch (const Error& e) {
    throw bad("VPN_IP", *ip, e);
  }
  if (const auto mask = ctx->get("VPN_MASK"); mask && !mask->empty()) {
    try {
      out.prefix_length = core::prefix_length_from_netmask(core::Ipv4::parse(*mask));
    } catch (const Error& e) {
      throw bad("VPN_MASK", *mask, e);
    }
  }
  return out;
}

TunnelReport observe_tunnel(const ObservedState& observed, std::string_view ifname) {
  TunnelReport t;
  t.interface = std::string(ifname);
  t.state = "connecting";
  for (const auto& link : observed.links) {
    if (link.name != ifname) continue;
    bool v4 = false;
    for (const auto& a : link.addresses) {
      t.addresses.push_back(to_string(a));
      v4 = v4 || !is_ipv6(a.ip);
    }
    if (link.up && v4) t.state = "up";
  }
  return t;
}

}  // namespace cloudtwin::agent
