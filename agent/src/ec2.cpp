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
constexpr std::array<const char*, 5> kNicFiles{
    "device-number", "local-ipv4s", "subnet-ipv4-cidr-block", "ipv6s", "subnet-ipv6-cidr-blocks"};

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

void Ec2Datasource::read_nics() {
  const auto macs = get("meta-data/network/interfaces/macs/");
  if (!macs) return;
  const auto listed = parse_listing(*macs);
  std::vector<std::string> paths;  // every NIC's files in one round trip
  for (std::size_t n = 0; n < listed.size() && n < options_.max_nics; ++n) {
    for (const char* name : kNicFiles)
      paths.push_back("meta-data/network/interfaces/macs/" + listed[n] + "/" + name);
  }
  prefetch(paths);
  for (const auto& mac : listed) {
    if (metadata_.nics.size() >= options_.max_nics) {
      metadata_.warnings.push_back("EC2 metadata lists more than " +
                                   std::to_string(options_.max_nics) + " NICs; the rest ignored");
      break;
    }
    std::map<std::string, std::string> files;
    const std::string dir = "meta-data/network/interfaces/macs/" + mac + "/";

    for (const char* name : kNicFiles) {
      if (auto body = get(dir + name)) files.emplace(name, std::move(*body));
    }
    try {
      metadata_.nics.push_back(parse_ec2_nic(mac, files));
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
  prefetch({"meta-data/instance-id", "meta-data/local-hostname", "meta-data/public-keys/",
            "meta-data/network/interfaces/macs/", "user-data"});
  const auto id = get("meta-data/instance-id");
  if (!id) return false;
  metadata_ = {};
  metadata_.instance_id = parse_listing(*id).empty() ? "" : parse_listing(*id).front();
  if (metadata_.instance_id.empty())
    throw Error(ErrorCode::Io, "EC2 metadata " + client_.endpoint() + ": empty instance-id");
  if (auto h = get("meta-data/local-hostname")) {
    if (auto lines = parse_listing(*h); !lines.empty()) metadata_.local_hostname = lines.front();
  }
  if (const auto keys = get("meta-data/public-keys/")) {
    std::vector<std::string> paths;
    for (const auto& index : public_key_indexes(*keys))
      paths.push_back("meta-data/public-keys/" + index + "/openssh-key");
    prefetch(paths);
    for (const auto& path : paths) {
      if (auto key = get(path)) {
        for (auto& line : parse_listing(*key)) metadata_.public_keys.push_back(std::move(line));
      }
    }
  }
  read_nics();
  user_data_ = get("user-data");
  prefetched_.clear();
  return true;
}

NetworkPlan Ec2Datasource::network_plan(const PlanOptions& /*options*/) const {
  return plan_from_ec2(metadata_, options_.primary);
}

}  // namespace cloudtwin::agent
