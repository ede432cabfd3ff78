#pragma once
// The EC2 crawl of `local`, kept for `final` of the same boot (as cloud-init keeps its
// datasource between stages): `final` then makes no request at all to the metadata
// service when nothing new is asked, so it is quicker and does not depend on the
// service still answering (EC2 throttles IMDS). A cache miss goes to the service.
//
// CachingMetadataClient decorates the real client: GET answers (200 and 404 only) are
// recorded; when created with recorded answers it replays them and answers the IMDSv2
// token request itself; a miss goes to the service with a real token, fetched then (with
// the datasource's own token request). Tokens are never recorded.
// The cache file holds user-data: callers write it 0600 under /run (gone at reboot) and
// accept it only for the boot (kernel boot_id) and endpoint it was made for.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/agent/ec2.hpp"

namespace cloudtwin::agent {

struct MetadataCache {
  std::string boot_id;
  std::string endpoint;                               // MetadataClient::endpoint()
  std::map<std::string, MetadataResponse> responses;  // GET path -> answer
};

// JSON, for the file. parse throws Error(InvalidArgument) naming `source`.
std::string render_metadata_cache(const MetadataCache& cache);
MetadataCache parse_metadata_cache(std::string_view json, const std::string& source);

class CachingMetadataClient : public MetadataClient {
 public:
  explicit CachingMetadataClient(MetadataClient& inner,
                                 std::map<std::string, MetadataResponse> replay = {});

  MetadataResponse send(const MetadataRequest& request) override;
  // Hits from the record; the misses go to the inner client in one send_all.
  std::vector<MetadataResponse> send_all(const std::vector<MetadataRequest>& requests) override;
  std::string endpoint() const override { return inner_.endpoint(); }

  // Every GET answer seen (replayed or live), for the next stage.
  const std::map<std::string, MetadataResponse>& recorded() const { return recorded_; }
  int hits() const { return hits_; }
  int misses() const { return misses_; }

 private:
  // The request as the service must see it: our made-up token replaced by a real one.
  MetadataRequest live(MetadataRequest request);
  void remember(const std::string& path, const MetadataResponse& response);

  MetadataClient& inner_;
  std::map<std::string, MetadataResponse> recorded_;
  bool replaying_;
  std::optional<MetadataRequest> token_request_;  // the datasource's, answered by us
  std::string real_token_;
  int hits_ = 0;
  int misses_ = 0;
};

}  // namespace cloudtwin::agent
