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

MetadataResponse CachingMetadataClient::send(const MetadataRequest& request) {
  if (request.method == "GET") {
    if (const auto it = recorded_.find(request.path); it != recorded_.end()) {
      ++hits_;
      return it->second;
    }
    ++misses_;
    replaying_ = false;  // the token we handed out is not real: live from here on
    auto response = inner_.send(request);
    if (response.status == 200 || response.status == 404) recorded_[request.path] = response;
    return response;
  }
  if (replaying_ && request.method == "PUT" && request.path == "/latest/api/token") {
    ++hits_;
    return {200, "cloudtwin-cached-crawl"};
  }
  return inner_.send(request);
}

}  // namespace cloudtwin::agent
