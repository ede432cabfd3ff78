// `local`'s EC2 crawl replayed by `final`: against the real metadata service (in process
// on 127.0.0.1:0), what a replaying datasource sees equals a live crawl, with no request
// at all when everything is cached, and a cache miss still reaches the service with a
// real token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/adapters/beast_metadata_client.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/agent/metadata_cache.hpp"
#include "cloudtwin/core/error.hpp"
#include "metadata_service.hpp"

namespace cloudtwin::agent {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::record;
using testing::Service;

class Counting : public MetadataClient {
 public:
  explicit Counting(MetadataClient& inner) : inner_(inner) {}
  MetadataResponse send(const MetadataRequest& r) override {
    log.push_back(r.method + " " + r.path);
    return inner_.send(r);
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  std::vector<std::string> log;

 private:
  MetadataClient& inner_;
};

Ec2Options fast() {
  Ec2Options o;
  o.max_wait = milliseconds(0);
  return o;
}

struct Seen {
  std::optional<std::string> id, host, user_data;
  std::vector<std::string> keys;
  std::size_t nics = 0;
};

Seen crawl(MetadataClient& client) {
  Ec2Datasource ds(client, fast());
  EXPECT_TRUE(ds.probe());
  return {ds.instance_id(), ds.hostname(), ds.user_data(), ds.ssh_public_keys(),
          ds.network_plan({}).nics.size()};
}

TEST(MetadataCache, FinalReplaysLocalsCrawlWithoutAnyRequest) {
  Service service(record("127.0.0.1", "required"));
  auto real = make_beast_metadata_client({{"127.0.0.1", service.port()}}, milliseconds(1000));
  Counting wire(*real);

  CachingMetadataClient local(wire);
  const Seen live = crawl(local);
  const auto live_requests = wire.log.size();
  EXPECT_GT(live_requests, 5u);
  EXPECT_EQ(local.recorded().count("/latest/api/token"), 0u) << "tokens are never kept";

  // through the file format, as `final` reads it
  const auto file = render_metadata_cache({"boot-1", local.endpoint(), local.recorded()});
  EXPECT_THAT(file, ::testing::Not(HasSubstr("cloudtwin-cached-crawl")));
  auto cache = parse_metadata_cache(file, "cache.json");
  EXPECT_EQ(cache.boot_id, "boot-1");
  CachingMetadataClient final_stage(wire, std::move(cache.responses));
  const Seen replayed = crawl(final_stage);
  EXPECT_EQ(wire.log.size(), live_requests) << "no request in final";
  EXPECT_EQ(final_stage.misses(), 0);
  EXPECT_EQ(replayed.id, live.id);
  EXPECT_EQ(replayed.host, live.host);
  EXPECT_EQ(replayed.user_data, live.user_data);
  EXPECT_EQ(replayed.keys, live.keys);
  EXPECT_EQ(replayed.nics, live.nics);
}

TEST(MetadataCache, AMissGoesToTheServiceWithARealToken) {
  Service service(record("127.0.0.1", "required"));
  auto real = make_beast_metadata_client({{"127.0.0.1", service.port()}}, milliseconds(1000));
  Counting wire(*real);
  CachingMetadataClient local(wire);
  const Seen live = crawl(local);
  auto partial = local.recorded();
  ASSERT_EQ(partial.erase("/latest/user-data"), 1u);
  wire.log.clear();

  CachingMetadataClient final_stage(wire, partial);
  const Seen replayed = crawl(final_stage);
  EXPECT_EQ(replayed.user_data, live.user_data);
  // A real token first (the service never sees the made-up one), then the one request.
  EXPECT_THAT(wire.log, ElementsAre("PUT /latest/api/token", "GET /latest/user-data"));
  EXPECT_EQ(final_stage.misses(), 1);
}

TEST(MetadataCache, OnlyDefiniteAnswersAreRecorded) {
  struct Fixed : MetadataClient {
    MetadataResponse send(const MetadataRequest& r) override {
      if (r.path == "/a") return {200, "a"};
      if (r.path == "/b") return {404, ""};
      if (r.path == "/c") return {503, "busy"};
      return {401, ""};
    }
    std::string endpoint() const override { return "fixed"; }
  } fixed;
  CachingMetadataClient c(fixed);
  for (const char* p : {"/a", "/b", "/c", "/d"}) c.send({"GET", p, {}});
  std::vector<std::string> kept;
  for (const auto& [path, r] : c.recorded()) kept.push_back(path + " " + std::to_string(r.status));
  EXPECT_THAT(kept, ElementsAre("/a 200", "/b 404"));
}

TEST(MetadataCache, BrokenFilesAreErrorsNamingTheFile) {
  for (const char* text : {"", "{", "[]", "{\"boot_id\": 1}", "{\"boot_id\": \"b\"}",
                           "{\"boot_id\":\"b\",\"endpoint\":\"e\",\"responses\":{\"/x\":{}}}"}) {
    try {
      parse_metadata_cache(text, "/run/x.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("/run/x.json: not a metadata cache")) << text;
    }
  }
}

}  // namespace
}  // namespace cloudtwin::agent
