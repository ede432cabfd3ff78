#pragma once
// Typed access to the context variables OpenNebula images use (docs/context-variables.md).
// Every accessor parses lazily and throws Error(ContextBadValue) naming the variable,
// so one bad value (say, USER_DATA) never prevents reading another (say, ETH0_IP).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::core {

enum class NicMethod { Static, Dhcp, Skip };                    // ETHn_METHOD (default static)
enum class NicIp6Method { Static, Auto, Dhcp, Disable, Skip };  // ETHn_IP6_METHOD

struct Route {
  Ipv4Cidr destination;
  Ipv4 gateway;
  auto operator<=>(const Route&) const = default;
};

struct NicContext {
  int index = 0;     // n of ETHn_*
  std::string name;  // "eth0": the context's name, not the guest's
  std::optional<Mac> mac;
  std::optional<Ipv4> ip;
  std::optional<int> prefix_length;  // from ETHn_MASK
  std::optional<Ipv4> network;
  std::optional<Ipv4> gateway;
  std::vector<std::string> dns;  // ETHn_DNS, else DNS
  std::vector<std::string> search_domains;
  std::optional<int> mtu;
  std::vector<Route> routes;  // ETHn_ROUTES "dst/len via gw, ..."
  NicMethod method = NicMethod::Static;
  std::optional<Ipv6> ip6;
  std::optional<int> ip6_prefix_length;
  std::optional<Ipv6> ip6_ula;
  std::optional<Ipv6> ip6_gateway;
  NicIp6Method ip6_method = NicIp6Method::Static;
  auto operator<=>(const NicContext&) const = default;
};

class Context {
 public:
  explicit Context(ContextVars vars) : vars_(std::move(vars)) {}

  const ContextVars& vars() const noexcept { return vars_; }
  // The raw value, or nullopt when unset (an empty value is "set").
  std::optional<std::string> get(std::string_view key) const;
  // YES/TRUE/1/ON (case-insensitive) -> true, NO/FALSE/0/OFF/unset -> false.
  bool flag(std::string_view key) const;

  // NIC indexes present (any ETHn_* key), ascending.
  std::vector<int> nic_indexes() const;
  NicContext nic(int index) const;
  std::vector<NicContext> nics() const;

  std::vector<std::string> dns() const;             // DNS, space separated
  std::vector<std::string> search_domains() const;  // SEARCH_DOMAIN
  // SET_HOSTNAME, else HOSTNAME, else nullopt.
  std::optional<std::string> hostname() const;
  std::optional<std::string> username() const;       // USERNAME (default: none)
  std::vector<std::string> ssh_public_keys() const;  // SSH_PUBLIC_KEY, one per line
  bool network_enabled() const;                      // NETWORK (default YES)
  bool token_requested() const;                      // TOKEN=YES
  std::vector<std::string> files() const;            // FILES (space separated)
  std::vector<std::string> init_scripts() const;     // INIT_SCRIPTS
  // START_SCRIPT_BASE64 (decoded), else START_SCRIPT.
  std::optional<std::string> start_script() const;
  // USER_DATA decoded per USER_DATA_ENCODING (base64|none, default auto).
  std::optional<std::string> user_data(const UserDataLimits& limits = {}) const;

 private:
  ContextVars vars_;
};

}  // namespace cloudtwin::core
