// The EC2 datasource over a MetadataClient: IMDSv2 token, then GETs; retries with
// backoff while the service cannot be reached or answers 5xx.
#include <algorithm>
#include <array>
#include <thread>

#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";
constexpr const char* kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
// A 404 closes the connection (EC2 does, and so does cloudtwin-metadata), and whatever was
// pipelined behind it is asked again on a new one. So a NIC's IPv6 files, absent unless
// it has IPv6, are asked for only when the NIC's own listing names them; its IPv4 files
// and that listing go with the first batch.
constexpr std::array<const char*, 3> kNicFiles{"device-number", "local-ipv4s",
                                               "subnet-ipv4-cidr-block"};
constexpr std::array<const char*, 2> kNicV6Files{"ipv6s", "subnet-ipv6-cidr-blocks"};

std::string nic_dir(const std::string& mac) {
  return "meta-data/network/interfaces/macs/" + mac + "/";
}

bool retryable(int status) { return status >= 500 || status == 429; }

}  // namespace

Ec2Datasource::Ec2Datasource(MetadataClient& client, Ec2Options options, Sleeper sleep, Clock now)
    : client_(client),
      options_(std::move(options)),
      sleep_(std::move(sleep)),
      now_(std::move(now)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

MetadataResponse Ec2Datasource::send_retrying(MetadataRequest request) {
  for (int attempt = 1;; ++attempt) {
    const auto delay = backoff_delay(attempt, options_.first_retry, options_.max_retry);
    const bool may_retry = deadline_ && now_() + delay <= *deadline_;
    try {
      auto response = client_.send(request);
      if (!retryable(response.status) || !may_retry) return response;
    } catch (const Error&) {
      if (!may_retry) throw;
    }
    sleep_(delay);
  }
}

MetadataRequest Ec2Datasource::token_request() const {
  return {"PUT", "/latest/api/token", {{kTtlHeader, std::to_string(options_.token_ttl)}}};
}

bool Ec2Datasource::acquire_token() { return accept_token(send_retrying(token_request())); }

bool Ec2Datasource::accept_token(const MetadataResponse& response) {
  if (response.status == 200 && !response.body.empty()) {
    token_ = response.body;
    return true;
  }
  if (response.status == 404) return false;  // the service serves nobody at our address
  if (!options_.allow_imdsv1) {
    throw Error(ErrorCode::Io,
                "EC2 metadata " + client_.endpoint() + ": the IMDSv2 token request (PUT " +
                    "/latest/api/token) was answered " + std::to_string(response.status) +
                    " and IMDSv1 is not allowed (set allow_imdsv1 = true in [ec2] of "
                    "/etc/cloudtwin/agent.conf to use it)");
  }
  warnings_.push_back("EC2 metadata " + client_.endpoint() + ": no IMDSv2 token (status " +
                      std::to_string(response.status) + "); using IMDSv1 as configured");
  return true;
}

void Ec2Datasource::prefetch(const std::vector<std::string>& paths) {
  if (!options_.prefetch || paths.size() < 2) return;
  std::vector<MetadataRequest> requests;
  for (const auto& path : paths) {
    requests.push_back({"GET", "/latest/" + path, {}});
    if (!token_.empty()) requests.back().headers.emplace_back(kTokenHeader, token_);
  }
  std::vector<MetadataResponse> answers;
  try {
    answers = client_.send_all(requests);
  } catch (const Error&) {
    return;  // get() asks again, with its retries
  }
  for (std::size_t i = 0; i < answers.size() && i < paths.size(); ++i) {
    if (answers[i].status == 200 || answers[i].status == 404)
      prefetched_[paths[i]] = std::move(answers[i]);
  }
}

std::optional<std::string> Ec2Datasource::get(const std::string& path) {
  if (const auto it = prefetched_.find(path); it != prefetched_.end()) {
    auto answer = std::move(it->second);
    prefetched_.erase(it);
    if (answer.status == 200) return std::move(answer.body);
    return std::nullopt;  // 404
  }
  MetadataRequest request{"GET", "/latest/" + path, {}};
  if (!token_.empty()) request.headers.emplace_back(kTokenHeader, token_);
  auto response = send_retrying(request);
  if (response.status == 401 && !token_.empty()) {
    // The token expired (a long user-data run, a suspended VM): one new token, one retry.
    token_.clear();
    if (acquire_token() && !token_.empty()) {
      request.headers.back().second = token_;
      response = send_retrying(request);
    }
  }
  if (response.status == 200) return response.body;
  if (response.status == 404) return std::nullopt;
  throw Error(ErrorCode::Io, "EC2 metadata " + client_.endpoint() + ": GET /latest/" + path +
                                 " answered " + std::to_string(response.status) +
                                 (response.status == 401 && token_.empty()
                                      ? " (the service requires IMDSv2 tokens)"
                                      : ""));
}

std::vector<std::string> Ec2Datasource::nic_paths(const std::vector<std::string>& macs) const {
  std::vector<std::string> paths;
  for (std::size_t n = 0; n < macs.size() && n < options_.max_nics; ++n) {
    const auto dir = nic_dir(macs[n]);
    for (const char* name : kNicFiles) paths.push_back(dir + name);
    paths.push_back(dir);
  }
  return paths;
}

void Ec2Datasource::read_nics(const std::vector<std::string>& macs) {
  std::vector<std::vector<std::string>> names;  // per NIC, the files to read
  std::vector<std::string> v6;                  // every NIC's IPv6 files in one round trip
  for (std::size_t n = 0; n < macs.size() && n < options_.max_nics; ++n) {
    const auto dir = nic_dir(macs[n]);
    names.emplace_back(kNicFiles.begin(), kNicFiles.end());
    const auto listing = get(dir);
    const auto listed = listing ? parse_listing(*listing) : std::vector<std::string>{};
    for (const char* name : kNicV6Files) {
      // Without a listing (a service that lists no NIC directory) they are asked for.
      if (listing && std::find(listed.begin(), listed.end(), name) == listed.end()) continue;
      names.back().emplace_back(name);
      v6.push_back(dir + name);
    }
  }
  prefetch(v6);
  for (std::size_t n = 0; n < macs.size(); ++n) {
    if (n >= names.size()) {
      metadata_.warnings.push_back("EC2 metadata lists more than " +
                                   std::to_string(options_.max_nics) + " NICs; the rest ignored");
      break;
    }
    std::map<std::string, std::string> files;
    for (const auto& name : names[n]) {
      if (auto body = get(nic_dir(macs[n]) + name)) files.emplace(name, std::move(*body));
    }
    try {
      metadata_.nics.push_back(parse_ec2_nic(macs[n], files));
    } catch (const Error& e) {
      metadata_.warnings.push_back(std::string(e.what()) + "; NIC left unconfigured");
    }
  }
  std::stable_sort(
      metadata_.nics.begin(), metadata_.nics.end(),
      [](const Ec2Nic& a, const Ec2Nic& b) { return a.device_number < b.device_number; });
}

bool Ec2Datasource::probe() {
  deadline_ = now_() + options_.max_wait;
  token_.clear();
  MetadataResponse put;
  try {
    put = send_retrying(token_request());
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Io) throw;
    return false;  // nothing answered within max_wait: not on EC2, or no service here
  }
  if (!accept_token(put)) return false;
  prefetched_.clear();
  // The ones that may be absent (404, see kNicFiles) last: a guessed NIC's files (see
  // Ec2Options::local_macs), then public-keys/, user-data and the first key.
  std::vector<std::string> top{"meta-data/instance-id", "meta-data/local-hostname",
                               "meta-data/network/interfaces/macs/"};
  const auto guessed = options_.local_macs ? options_.local_macs() : std::vector<std::string>{};
  for (auto& p : nic_paths(guessed)) top.push_back(std::move(p));
  top.emplace_back("meta-data/public-keys/");
  top.emplace_back("user-data");
  if (!guessed.empty()) top.emplace_back("meta-data/public-keys/0/openssh-key");
  prefetch(top);
  const auto id = get("meta-data/instance-id");
  if (!id) return false;
  metadata_ = {};
  metadata_.instance_id = parse_listing(*id).empty() ? "" : parse_listing(*id).front();
  if (metadata_.instance_id.empty())
    throw Error(ErrorCode::Io, "EC2 metadata " + client_.endpoint() + ": empty instance-id");
  if (auto h = get("meta-data/local-hostname")) {
    if (auto lines = parse_listing(*h); !lines.empty()) metadata_.local_hostname = lines.front();
  }
  const auto macs = get("meta-data/network/interfaces/macs/");
  const auto listed = macs ? parse_listing(*macs) : std::vector<std::string>{};
  std::vector<std::string> key_paths;
  if (const auto keys = get("meta-data/public-keys/")) {
    for (const auto& index : public_key_indexes(*keys))
      key_paths.push_back("meta-data/public-keys/" + index + "/openssh-key");
  }
  // The keys and the NICs' files in one round trip, less what the top level brought.
  auto paths = key_paths;
  for (auto& p : nic_paths(listed)) paths.push_back(std::move(p));
  std::erase_if(paths, [&](const std::string& p) { return prefetched_.count(p) != 0; });
  prefetch(paths);
  for (const auto& path : key_paths) {
    if (auto key = get(path)) {
      for (auto& line : parse_listing(*key)) metadata_.public_keys.push_back(std::move(line));
    }
  }
  read_nics(listed);
  user_data_ = get("user-data");
  prefetched_.clear();
  return true;
}

NetworkPlan Ec2Datasource::network_plan(const PlanOptions& /*options*/) const {
  return plan_from_ec2(metadata_, options_.primary);
}

}  // namespace cloudtwin::agent
