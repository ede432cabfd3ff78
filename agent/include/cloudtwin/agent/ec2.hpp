#pragma once
// The EC2 datasource: IMDSv2 (token first; IMDSv1 only when configured) over an injected
// MetadataClient, and the pure part: listings, the metadata model, the network plan from
// network/interfaces/macs/*, and the "reach the service from the MAC" fallback plan.
// The Boost.Beast client is in adapters/.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/agent/datasource.hpp"

namespace cloudtwin::agent {

struct MetadataRequest {
  std::string method = "GET";  // GET | PUT
  std::string path;            // "/latest/meta-data/instance-id"
  std::vector<std::pair<std::string, std::string>> headers;
};

struct MetadataResponse {
  int status = 0;
  std::string body;
};

// One HTTP exchange with the metadata service. Throws Error(Io) when the service cannot
// be reached or does not answer in time (that, not an HTTP status, is what is retried).
class MetadataClient {
 public:
  virtual ~MetadataClient() = default;
  virtual MetadataResponse send(const MetadataRequest& request) = 0;
  // Several requests at once, answers in order. The default sends them one by one; a
  // client on a kept-alive connection pipelines them (one round trip for all).
  virtual std::vector<MetadataResponse> send_all(const std::vector<MetadataRequest>& requests) {
    std::vector<MetadataResponse> out;
    out.reserve(requests.size());
    for (const auto& r : requests) out.push_back(send(r));
    return out;
  }
  // For the report: "http://169.254.169.254:80".
  virtual std::string endpoint() const = 0;
};

// --- pure ----------------------------------------------------------------------------

// Where the service listens: an address literal (no name lookup, ever) and a port.
struct MetadataEndpoint {
  std::string host;  // "169.254.169.254", "fd00:ec2::254"
  int port = 80;
  std::string to_string() const;  // "http://[fd00:ec2::254]:80"
  bool operator==(const MetadataEndpoint&) const = default;
};

// "http://169.254.169.254", "http://[fd00:ec2::254]:8080", "127.0.0.1:9". Throws
// Error(InvalidArgument) for a host that is not an IPv4/IPv6 literal or a bad port.
MetadataEndpoint parse_metadata_url(std::string_view url);

// 169.254.169.254 first, then [fd00:ec2::254] (IPv6-only subnets).
std::vector<MetadataEndpoint> default_metadata_endpoints();

// An IMDS directory listing: one entry per line, blanks dropped, a trailing '/' removed
// ("macs/" lists "0e:49:61:0f:c3:11/").
std::vector<std::string> parse_listing(std::string_view body);

// public-keys/ lists "0=my-key": the index before '='. Entries without one are skipped.
std::vector<std::string> public_key_indexes(std::string_view listing);

struct Ec2Nic {
  core::Mac mac;
  int device_number = 0;
  std::vector<core::Ipv4> local_ipv4s;
  std::optional<core::Ipv4Cidr> subnet_ipv4;
  std::vector<core::Ipv6> ipv6s;
  std::optional<int> subnet_ipv6_prefix_length;  // of the first subnet-ipv6-cidr-blocks entry
};

struct Ec2Metadata {
  std::string instance_id;
  std::optional<std::string> local_hostname;
  std::vector<std::string> public_keys;
  std::vector<Ec2Nic> nics;           // ordered by device number
  std::vector<std::string> warnings;  // NIC entries that could not be used, and why
};

// Builds one NIC from the files under macs/<mac>/ (name -> body; absent files are absent).
// Throws Error naming the MAC and the file when a value is malformed.
Ec2Nic parse_ec2_nic(std::string_view mac, const std::map<std::string, std::string>& files);

enum class Ec2PrimaryMode {
  Auto,    // static when the primary's MAC encodes its local-ipv4 (a cloudtwin host), else DHCP
  Dhcp,    // leave the primary NIC to the distro's DHCP client (real EC2)
  Static,  // configure it from the metadata
};

// Secondary NICs (device-number > 0): every local-ipv4 with the subnet's prefix, IPv6
// addresses with their subnet's prefix (/64 by default); no default route (the primary
// has it). The primary NIC under DHCP keeps only its extra addresses (local-ipv4s after
// the first, which DHCP hands out); when static it also gets the default route via the
// first address of its subnet, as EC2's router is.
NetworkPlan plan_from_ec2(const Ec2Metadata& metadata,
                          Ec2PrimaryMode primary = Ec2PrimaryMode::Auto);

// The plan that lets `local` reach the metadata service before any datasource answered:
// empty when some non-loopback link already has an IPv4 address (the distro or an earlier
// stage configured it); else plan_from_macs with the route to 169.254.169.254, for the
// first prefixed link only (observed order: lowest ifindex first).
NetworkPlan plan_metadata_fallback(const ObservedState& observed, const PlanOptions& options);

// Delay before retry number `attempt` (1-based): doubles from `first`, capped at `max`.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds first,
                                        std::chrono::milliseconds max);

// --- the datasource --------------------------------------------------------------------

struct Ec2Options {
  bool allow_imdsv1 = false;
  int token_ttl = 21600;
  std::chrono::milliseconds max_wait{60000};  // keep retrying an unreachable service this long
  std::chrono::milliseconds first_retry{100};
  std::chrono::milliseconds max_retry{2000};
  Ec2PrimaryMode primary = Ec2PrimaryMode::Auto;
  std::size_t max_nics = 32;
  // Ask for each level of the tree in one send_all (3 round trips instead of ~16).
  bool prefetch = true;
  // The guest's NICs the service should list (lowercase MACs; the agent gives those
  // carrying the host's MAC prefix): their files and the first key are asked for with the
  // top level, so a crawl takes 2 round trips instead of 3. A MAC the service does not
  // list is answered 404, which closes the connection: what was pipelined behind it is
  // asked again, so a wrong guess costs time, never data.
  std::function<std::vector<std::string>()> local_macs;
};

class Ec2Datasource : public Datasource {
 public:
  using Sleeper = std::function<void(std::chrono::milliseconds)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  Ec2Datasource(MetadataClient& client, Ec2Options options, Sleeper sleep = {}, Clock now = {});

  std::string name() const override { return "ec2"; }
  bool needs_network() const override { return true; }
  // False when the service never answered within max_wait, or answers 404 to the
  // instance id (nobody is served at this address). Throws Error for a service that
  // answers but refuses us (401/403 without IMDSv1, 5xx after retries).
  bool probe() override;
  std::string location() const override { return client_.endpoint(); }

  std::optional<std::string> instance_id() const override { return metadata_.instance_id; }
  std::optional<std::string> hostname() const override { return metadata_.local_hostname; }
  std::vector<std::string> ssh_public_keys() const override { return metadata_.public_keys; }
  std::optional<std::string> user_data() const override { return user_data_; }
  NetworkPlan network_plan(const PlanOptions& options) const override;
  std::vector<std::string> warnings() const override { return warnings_; }

  const Ec2Metadata& metadata() const { return metadata_; }
  bool used_token() const { return !token_.empty(); }

 private:
  MetadataResponse send_retrying(MetadataRequest request);
  MetadataRequest token_request() const;
  bool acquire_token();
  bool accept_token(const MetadataResponse& response);      // false: nobody served here (404)
  std::optional<std::string> get(const std::string& path);  // 404 -> nullopt
  // Asks for `paths` in one send_all; get() then uses the 200/404 answers. Anything
  // else (401, 5xx, a broken pipeline) is left to get()'s own request and retries.
  void prefetch(const std::vector<std::string>& paths);
  std::vector<std::string> nic_paths(const std::vector<std::string>& macs) const;
  void read_nics(const std::vector<std::string>& macs);

  MetadataClient& client_;
  Ec2Options options_;
  Sleeper sleep_;
  Clock now_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::string token_;
  Ec2Metadata metadata_;
  std::optional<std::string> user_data_;
  std::map<std::string, MetadataResponse> prefetched_;  // path -> answer
  std::vector<std::string> warnings_;
};

}  // namespace cloudtwin::agent
