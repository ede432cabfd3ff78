// The EC2 datasource through the real Beast client against the real metadata service
// (cloudtwin::metadata's handler and server) on 127.0.0.1:0: token flow, 200/401/403/404,
// the service down then up. Retry sequencing with 5xx uses a scripted client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/adapters/beast_metadata_client.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"
#include "metadata_service.hpp"

namespace cloudtwin::agent {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::record;
using testing::Service;

// Wraps the real client to tamper with what is sent: the answers stay the service's own.
class Tamper : public MetadataClient {
 public:
  explicit Tamper(MetadataClient& inner) : inner_(inner) {}
  MetadataResponse send(const MetadataRequest& r) override {
    auto copy = r;
    // The real service answers a PUT carrying X-Forwarded-For with 403.
    if (forward_puts && r.method == "PUT") copy.headers.emplace_back("X-Forwarded-For", "1.2.3.4");
    if (corrupt_next_token && r.method == "GET" && !copy.headers.empty()) {
      copy.headers.back().second = "expired-token";
      corrupt_next_token = false;
    }
    log.push_back(r.method + " " + r.path);
    return inner_.send(copy);
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  bool forward_puts = false;
  bool corrupt_next_token = false;
  std::vector<std::string> log;

 private:
  MetadataClient& inner_;
};

std::unique_ptr<MetadataClient> client_for(int port) {
  return make_beast_metadata_client({{"127.0.0.1", port}}, milliseconds(1000));
}

Ec2Options fast() {
  Ec2Options o;
  o.max_wait = milliseconds(0);
  return o;
}

// One request at a time, as the tests of exact request sequences and retries need.
Ec2Options sequential() {
  Ec2Options o = fast();
  o.prefetch = false;
  return o;
}

TEST(Ec2RealService, TokenFlowReadsEverything) {
  Service service(record("127.0.0.1", "required"));
  auto client = client_for(service.port());
  Tamper tamper(*client);
  Ec2Datasource ds(tamper, fast());
  ASSERT_TRUE(ds.probe());
  EXPECT_TRUE(ds.used_token());
  EXPECT_EQ(tamper.log.front(), "PUT /latest/api/token");
  EXPECT_EQ(ds.instance_id(), "i-0abc");
  EXPECT_EQ(ds.hostname(), "twin-1.internal");
  EXPECT_THAT(ds.ssh_public_keys(), ElementsAre("ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"));
  EXPECT_EQ(ds.user_data(), "#!/bin/sh\necho hi\n");
  ASSERT_EQ(ds.metadata().nics.size(), 2u);
  const auto plan = ds.network_plan({});
  ASSERT_EQ(plan.nics.size(), 2u);
  EXPECT_EQ(plan.nics[0].method, Method::Static) << "the MAC encodes 192.168.122.10";
  EXPECT_EQ(to_string(plan.nics[0].routes.at(0)), "default via 192.168.122.1");
  EXPECT_EQ(plan.nics[1].addresses.size(), 2u);
  EXPECT_EQ(ds.location(), service.url() + "");
}

// The tree read level by level, each level pipelined on the kept-alive connection:
// the same data as one request at a time, in 4 exchanges instead of 13.
class Batches : public MetadataClient {
 public:
  explicit Batches(MetadataClient& inner) : inner_(inner) {}
  MetadataResponse send(const MetadataRequest& r) override {
    ++exchanges;
    return inner_.send(r);
  }
  std::vector<MetadataResponse> send_all(const std::vector<MetadataRequest>& r) override {
    ++exchanges;
    return inner_.send_all(r);
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  int exchanges = 0;

 private:
  MetadataClient& inner_;
};

TEST(Ec2RealService, PipelinedCrawlReadsTheSameInFourExchanges) {
  Service service(record("127.0.0.1", "required"));
  struct Seen {
    std::optional<std::string> id, host, user_data;
    std::vector<std::string> keys;
    std::string plan;
    int exchanges;
  };
  auto crawl = [&](const Ec2Options& options) {
    auto client = client_for(service.port());
    Batches batches(*client);
    Ec2Datasource ds(batches, options);
    EXPECT_TRUE(ds.probe());
    std::string plan;
    for (const auto& nic : ds.network_plan({}).nics) {
      plan += nic.mac.to_string();
      for (const auto& a : nic.addresses) plan += " " + to_string(a);
      for (const auto& r : nic.routes) plan += " " + to_string(r);
      plan += ";";
    }
    return Seen{ds.instance_id(),     ds.hostname(), ds.user_data(),
                ds.ssh_public_keys(), plan,          batches.exchanges};
  };
  const Seen one = crawl(sequential());
  const Seen piped = crawl(fast());
  EXPECT_EQ(piped.id, one.id);
  EXPECT_EQ(piped.host, one.host);
  EXPECT_EQ(piped.user_data, one.user_data);
  EXPECT_EQ(piped.keys, one.keys);
  EXPECT_EQ(piped.plan, one.plan);
  EXPECT_EQ(one.exchanges, 16)
      << "token, id, hostname, macs/, keys/, 2 keys, 2 x (3 NIC files + listing), user-data";
  EXPECT_EQ(piped.exchanges, 3) << "token, top level, keys + NIC files";
}

// The guest's own MACs given (Ec2Options::local_macs): their NIC files and the first key
// come with the top level. A partial or wrong guess reads the same in more round trips.
TEST(Ec2RealService, GuessedNicsAndFirstKeyComeWithTheTopLevel) {
  auto json = record("127.0.0.1", "required");
  const std::string second_key = R"(,
                  {"name": "k2", "openssh-key": "ssh-ed25519 BBBB two"})";
  ASSERT_NE(json.find(second_key), std::string::npos);
  json.erase(json.find(second_key), second_key.size());
  Service service(json);
  // What the crawl read, and in how many exchanges.
  auto crawl = [&](Ec2Options options) {
    auto client = client_for(service.port());
    Batches batches(*client);
    Ec2Datasource ds(batches, options);
    EXPECT_TRUE(ds.probe());
    std::string seen = ds.instance_id().value_or("-") + " " + ds.hostname().value_or("-") + " " +
                       ds.user_data().value_or("-");
    for (const auto& k : ds.ssh_public_keys()) seen += k + ";";
    for (const auto& nic : ds.network_plan({}).nics) {
      seen += nic.mac.to_string();
      for (const auto& a : nic.addresses) seen += " " + to_string(a);
      seen += ";";
    }
    return std::pair{seen, batches.exchanges};
  };
  const auto one = crawl(sequential()).first;
  EXPECT_THAT(one, ::testing::HasSubstr("ssh-ed25519 AAAA one;"));
  EXPECT_THAT(one, ::testing::HasSubstr("10.2.0.6"));
  struct Row {
    std::vector<std::string> macs;
    int exchanges;
  };
  const Row rows[] = {
      {{"02:00:c0:a8:7a:0a", "0e:00:00:00:00:02"}, 2},  // token; everything else
      {{"02:00:c0:a8:7a:0a"}, 3},                       // the second NIC's files: a third
      {{"02:00:00:00:00:99"}, 3},  // not listed: its 404 closes, the rest asked again
      {{}, 3},                     // token; top level; keys + NIC files
  };
  for (const auto& row : rows) {
    Ec2Options o = fast();
    o.local_macs = [&] { return row.macs; };
    const auto [seen, exchanges] = crawl(o);
    EXPECT_EQ(seen, one) << ::testing::PrintToString(row.macs);
    EXPECT_EQ(exchanges, row.exchanges) << ::testing::PrintToString(row.macs);
  }
}

// Counts the service's answers that close the connection (4xx): each one makes the client
// connect again and send once more what was pipelined behind it.
class Statuses : public MetadataClient {
 public:
  explicit Statuses(MetadataClient& inner) : inner_(inner) {}
  MetadataResponse send(const MetadataRequest& r) override { return note(inner_.send(r)); }
  std::vector<MetadataResponse> send_all(const std::vector<MetadataRequest>& r) override {
    ++exchanges;
    auto out = inner_.send_all(r);
    for (const auto& a : out) note(a);
    return out;
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  int not_found = 0;
  int exchanges = 0;

 private:
  MetadataResponse note(MetadataResponse a) {
    if (a.status == 404) ++not_found;
    return a;
  }
  MetadataClient& inner_;
};

TEST(Ec2RealService, IpFilesAskedForOnlyWhenTheNicListsThem) {
  auto json = record("127.0.0.1", "required");
  const std::string v4 = R"("subnet-ipv4-cidr-block": "10.2.0.0/24"})";
  ASSERT_NE(json.find(v4), std::string::npos);
  json.replace(json.find(v4), v4.size(),
               R"("subnet-ipv4-cidr-block": "10.2.0.0/24", "ipv6s": ["2001:db8:8:4::2"],
                  "subnet-ipv6-cidr-blocks": ["2001:db8:8:4::/64"]})");
  {
    Service service(record("127.0.0.1", "required"));
    auto client = client_for(service.port());
    Statuses statuses(*client);
    Ec2Datasource ds(statuses, fast());
    ASSERT_TRUE(ds.probe());
    EXPECT_EQ(statuses.not_found, 0) << "IPv4-only NICs: nothing absent is asked for";
    EXPECT_EQ(statuses.exchanges, 2) << "top level, keys + NIC files (the token is a send)";
  }
  Service service(json);
  auto client = client_for(service.port());
  Statuses statuses(*client);
  Ec2Datasource ds(statuses, fast());
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(statuses.not_found, 0);
  EXPECT_EQ(statuses.exchanges, 3) << "top level, keys + NIC files, the listed IPv6 files";
  ASSERT_EQ(ds.metadata().nics.size(), 2u);
  ASSERT_EQ(ds.metadata().nics[1].ipv6s.size(), 1u);
  EXPECT_EQ(ds.metadata().nics[1].ipv6s[0].to_string(), "2001:db8:8:4::2");
  EXPECT_TRUE(ds.metadata().nics[0].ipv6s.empty());
}

TEST(Ec2RealService, ExpiredTokenIs401ThenANewTokenIsFetched) {
  Service service(record("127.0.0.1", "required"));
  auto client = client_for(service.port());
  Tamper tamper(*client);
  tamper.corrupt_next_token = true;
  Ec2Datasource ds(tamper, sequential());
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(ds.instance_id(), "i-0abc");
  EXPECT_THAT(std::vector<std::string>(tamper.log.begin(), tamper.log.begin() + 4),
              ElementsAre("PUT /latest/api/token", "GET /latest/meta-data/instance-id",
                          "PUT /latest/api/token", "GET /latest/meta-data/instance-id"));
}

TEST(Ec2RealService, TokenRefusedWithoutImdsv1IsAnError) {
  Service service(record("127.0.0.1"));
  auto client = client_for(service.port());
  Tamper tamper(*client);
  tamper.forward_puts = true;  // -> 403
  Ec2Datasource ds(tamper, fast());
  EXPECT_THAT([&] { ds.probe(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("answered 403 and IMDSv1 is not allowed")));
}

TEST(Ec2RealService, Imdsv1WhenConfiguredAndAllowedByTheService) {
  Service service(record("127.0.0.1", "optional"));
  auto client = client_for(service.port());
  Tamper tamper(*client);
  tamper.forward_puts = true;
  auto options = fast();
  options.allow_imdsv1 = true;
  Ec2Datasource ds(tamper, options);
  ASSERT_TRUE(ds.probe());
  EXPECT_FALSE(ds.used_token());
  EXPECT_EQ(ds.instance_id(), "i-0abc");
  EXPECT_THAT(ds.warnings().at(0), HasSubstr("using IMDSv1 as configured"));
}

TEST(Ec2RealService, Imdsv1RefusedByTheServiceIs401) {
  Service service(record("127.0.0.1", "required"));
  auto client = client_for(service.port());
  Tamper tamper(*client);
  tamper.forward_puts = true;
  auto options = fast();
  options.allow_imdsv1 = true;
  Ec2Datasource ds(tamper, options);
  EXPECT_THAT([&] { ds.probe(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("answered 401 (the service requires")));
}

TEST(Ec2RealService, UnknownCallerIs404AndNotFound) {
  Service service(record("127.0.0.9"));  // served to another address: we are nobody
  auto client = client_for(service.port());
  Ec2Datasource ds(*client, fast());
  EXPECT_FALSE(ds.probe());
}

TEST(Ec2RealService, DownThenUpRetriesWithBackoff) {
  // Find a free port, then leave it closed until the second retry.
  int port = 0;
  { port = Service(record("127.0.0.1")).port(); }
  auto client = client_for(port);
  std::unique_ptr<Service> service;
  std::vector<milliseconds> sleeps;
  auto now = std::chrono::steady_clock::time_point{};
  auto options = fast();
  options.max_wait = milliseconds(10000);
  Ec2Datasource ds(
      *client, options,
      [&](milliseconds d) {
        sleeps.push_back(d);
        now += d;
        if (sleeps.size() == 2) service = std::make_unique<Service>(record("127.0.0.1"), port);
      },
      [&] { return now; });
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(ds.instance_id(), "i-0abc");
  EXPECT_THAT(sleeps, ElementsAre(milliseconds(100), milliseconds(200)));
}

TEST(Ec2RealService, NeverUpIsNotFoundAfterMaxWait) {
  int port = 0;
  { port = Service(record("127.0.0.1")).port(); }
  auto client = client_for(port);
  std::vector<milliseconds> sleeps;
  auto now = std::chrono::steady_clock::time_point{};
  auto options = fast();
  options.max_wait = milliseconds(1000);
  Ec2Datasource ds(
      *client, options,
      [&](milliseconds d) {
        sleeps.push_back(d);
        now += d;
      },
      [&] { return now; });
  EXPECT_FALSE(ds.probe());
  EXPECT_THAT(sleeps, ElementsAre(milliseconds(100), milliseconds(200), milliseconds(400)));
}

TEST(Ec2RealService, SecondEndpointIsUsedWhenTheFirstIsClosed) {
  int closed = 0;
  { closed = Service(record("127.0.0.1")).port(); }
  Service service(record("127.0.0.1"));
  auto client = make_beast_metadata_client({{"127.0.0.1", closed}, {"127.0.0.1", service.port()}},
                                           milliseconds(1000));
  Ec2Datasource ds(*client, fast());
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(ds.location(), service.url());
}

// 5xx and 429 are retried; other statuses are not.
class Scripted : public MetadataClient {
 public:
  explicit Scripted(std::vector<int> statuses) : statuses_(std::move(statuses)) {}
  MetadataResponse send(const MetadataRequest& r) override {
    const int status = calls_ < statuses_.size() ? statuses_[calls_] : 200;
    ++calls_;
    if (status == 0) throw Error(ErrorCode::Io, "connection refused");
    if (r.path == "/latest/api/token") return {status, status == 200 ? "tok" : ""};
    if (r.path == "/latest/meta-data/instance-id") return {status, "i-9\n"};
    return {404, ""};
  }
  std::string endpoint() const override { return "scripted"; }
  std::size_t calls_ = 0;

 private:
  std::vector<int> statuses_;
};

TEST(Ec2Retry, FiveHundredsAndRefusalsAreRetriedUntilTheDeadline) {
  struct Case {
    std::vector<int> statuses;
    long max_wait_ms;
    bool found;
    std::size_t sleeps;
  };
  const Case cases[] = {
      {{503, 0, 500, 200}, 10000, true, 3},
      {{429, 200}, 10000, true, 1},
      {{0, 0, 0, 0, 0, 0}, 250, false, 1},  // 100 fits, 100+200 does not
      {{200, 502, 503, 200}, 10000, true, 2},
  };
  for (const auto& c : cases) {
    Scripted client(c.statuses);
    std::size_t sleeps = 0;
    auto now = std::chrono::steady_clock::time_point{};
    Ec2Options options;
    options.prefetch = false;
    options.max_wait = milliseconds(c.max_wait_ms);
    Ec2Datasource ds(
        client, options,
        [&](milliseconds d) {
          ++sleeps;
          now += d;
        },
        [&] { return now; });
    EXPECT_EQ(ds.probe(), c.found) << ::testing::PrintToString(c.statuses);
    EXPECT_EQ(sleeps, c.sleeps) << ::testing::PrintToString(c.statuses);
    if (c.found) {
      EXPECT_EQ(ds.instance_id(), "i-9");
    }
  }
}

TEST(Ec2Retry, FiveHundredAfterTheDeadlineIsAnErrorNamingThePath) {
  Scripted client({200, 503, 503});
  Ec2Datasource ds(client, sequential());
  EXPECT_THAT([&] { ds.probe(); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("scripted: GET /latest/meta-data/instance-id answered 503")));
}

}  // namespace
}  // namespace cloudtwin::agent
