#include "cloudtwin/agent/metadata_cache.hpp"

#include <nlohmann/json.hpp>

#include <utility>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

std::string render_metadata_cache(const MetadataCache& cache) {
  nlohmann::json responses = nlohmann::json::object();
  for (const auto& [path, r] : cache.responses)
    responses[path] = {{"status", r.status}, {"body", r.body}};
  const nlohmann::json doc = {
      {"boot_id", cache.boot_id}, {"endpoint", cache.endpoint}, {"responses", responses}};
  // Bodies are whatever the service sent: invalid UTF-8 is replaced, never fatal.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

MetadataCache parse_metadata_cache(std::string_view json, const std::string& source) {
  try {
    const auto doc = nlohmann::json::parse(json);
    MetadataCache cache;
    cache.boot_id = doc.at("boot_id").get<std::string>();
    cache.endpoint = doc.at("endpoint").get<std::string>();
    for (const auto& [path, r] : doc.at("responses").items())
      cache.responses[path] = {r.at("status").get<int>(), r.at("body").get<std::string>()};
    return cache;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::InvalidArgument, source + ": not a metadata cache: " + e.what());
  }
}

CachingMetadataClient::CachingMetadataClient(MetadataClient& inner,
                                             std::map<std::string, MetadataResponse> replay)
    : inner_(inner), recorded_(std::move(replay)), replaying_(!recorded_.empty()) {}

namespace {
constexpr const char* kCachedToken = "cloudtwin-cached-crawl";
constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";
}  // namespace

// Only definite answers are kept: a 401 or 5xx is worth asking again.
void CachingMetadataClient::remember(const std::string& path, const MetadataResponse& response) {
  if (response.status == 200 || response.status == 404) recorded_[path] = response;
}

MetadataRequest CachingMetadataClient::live(MetadataRequest request) {
  for (auto& [name, value] : request.headers) {
    if (name != kTokenHeader || value != kCachedToken) continue;
    // The datasource holds the token we made up: the service gets a real one, taken
    // once with the datasource's own token request.
    if (real_token_.empty() && token_request_) {
      const auto answer = inner_.send(*token_request_);
      if (answer.status == 200) real_token_ = answer.body;
    }
    value = real_token_;
  }
  return request;
}

MetadataResponse CachingMetadataClient::send(const MetadataRequest& request) {
  if (request.method == "GET") {
    if (const auto it = recorded_.find(request.path); it != recorded_.end()) {
      ++hits_;
      return it->second;
    }
    ++misses_;
    auto response = inner_.send(live(request));
    remember(request.path, response);
    return response;
  }
  if (replaying_ && request.method == "PUT" && request.path == "/latest/api/token") {
    ++hits_;
    token_request_ = request;
    return {200, kCachedToken};
  }
  return inner_.send(request);
}

std::vector<MetadataResponse> CachingMetadataClient::send_all(
    const std::vector<MetadataRequest>& requests) {
  std::vector<MetadataResponse> out(requests.size());
  std::vector<MetadataRequest> misses;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const auto it = r.method == "GET" ? recorded_.find(r.path) : recorded_.end();
    if (it != recorded_.end()) {
      ++hits_;
      out[i] = it->second;
    } else if (r.method != "GET") {
      out[i] = send(r);
    } else {
      misses.push_back(r);
      where.push_back(i);
    }
  }
  if (misses.empty()) return out;
  misses_ += static_cast<int>(misses.size());
  for (auto& m : misses) m = live(std::move(m));
  auto answers = inner_.send_all(misses);
  for (std::size_t k = 0; k < answers.size() && k < where.size(); ++k) {
    remember(misses[k].path, answers[k]);
    out[where[k]] = std::move(answers[k]);
  }
  return out;
}

}  // namespace cloudtwin::agent
