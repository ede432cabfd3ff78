// The datasource table: what it declares, which sources a run probes, --help.
#include "cloudtwin/agent/datasource_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "cloudtwin/agent/cli.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

class NoDisks : public DiskLocator {
 public:
  std::optional<std::string> find_by_label(const std::string& /*label*/) override {
    return std::nullopt;
  }
};

class NoService : public MetadataClient {
 public:
  explicit NoService(std::string endpoint) : endpoint_(std::move(endpoint)) {}
  MetadataResponse send(const MetadataRequest& /*request*/) override { return {404, ""}; }
  std::string endpoint() const override { return endpoint_; }

 private:
  std::string endpoint_;
};

TEST(DatasourceRegistry, RowsAreCompleteAndDistinct) {
  std::set<std::string_view> names, options, keys;
  for (const auto& k : datasource_kinds()) {
    EXPECT_TRUE(names.insert(k.name).second) << "two rows named " << k.name;
    EXPECT_FALSE(k.description.empty()) << k.name;
    EXPECT_NE(k.make, nullptr) << k.name;
    if (!k.location_option.empty()) {
      EXPECT_TRUE(k.location_option.starts_with("--")) << k.location_option;
      EXPECT_TRUE(options.insert(k.location_option).second) << k.location_option;
      EXPECT_FALSE(k.location_help.empty()) << k.name;
    }
    for (const auto& s : k.settings) {
      EXPECT_TRUE(keys.insert(s.key).second) << s.key << " declared twice";
      EXPECT_LE(s.min, s.fallback) << s.key;
      EXPECT_LE(s.fallback, s.max) << s.key;
    }
  }
  EXPECT_THROW(setting(AgentConfig{}, "ec2.undeclared"), Error)
      << "a constructor can read only the keys its row declares";
}

struct SelectionCase {
  std::string stage;
  std::optional<std::vector<std::string>> order;
  std::map<std::string, std::string> locations;
  std::vector<std::string> probed;  // Datasource::name(), in order
  std::vector<std::string> endpoints_asked;
  std::size_t after_local;
};

TEST(DatasourceRegistry, WhichSourcesARunProbes) {
  const std::vector<std::string> all{"context-cd", "nocloud", "ec2"};
  const std::string imds = "169.254.169.254:80 [fd00:ec2::254]:80";
  const std::vector<SelectionCase> cases{
      {"local", std::nullopt, {}, all, {imds}, 1},
      {"final", std::nullopt, {}, all, {imds}, 0},
      {"local", std::vector<std::string>{"ec2", "context"}, {}, {"ec2", "context-cd"}, {imds}, 1},
      {"local", std::vector<std::string>{}, {}, {}, {}, 0},
      // a disk given: only there
      {"local", std::nullopt, {{"context", "x.iso"}}, {"context-cd"}, {}, 0},
      {"local", std::nullopt, {{"nocloud", "seed.iso"}}, {"nocloud"}, {}, 0},
      // an endpoint given: only the address changes
      {"local", std::nullopt, {{"ec2", "http://127.0.0.1:9"}}, all, {"127.0.0.1:9"}, 1},
      {"final",
       std::nullopt,
       {{"context", "x.iso"}, {"ec2", "127.0.0.1:9"}},
       {"context-cd", "ec2"},
       {"127.0.0.1:9"},
       0},
  };
  for (const auto& c : cases) {
    NoDisks disks;
    std::vector<std::string> asked;
    SourceRun run;
    run.stage = c.stage;
    run.root = "/nonexistent";
    run.locator = &disks;
    run.open_disk = [](const std::string& path) -> std::unique_ptr<ContextDisk> {
      throw Error(ErrorCode::Io, "no disk " + path);
    };
    run.metadata_client = [&](std::vector<MetadataEndpoint> endpoints, std::chrono::milliseconds) {
      std::string list;
      for (const auto& e : endpoints) {
        const auto url = e.to_string();
        list += (list.empty() ? "" : " ") + url.substr(url.find("://") + 3);
      }
      asked.push_back(list);
      return std::make_unique<NoService>(list);
    };
    AgentConfig config;
    config.order = c.order;
    std::vector<std::string> probed;
    for (const auto& s : make_datasources(run, config, c.locations)) probed.push_back(s->name());
    EXPECT_THAT(probed, ElementsAreArray(c.probed)) << c.stage << " " << c.locations.size();
    EXPECT_THAT(asked, ElementsAreArray(c.endpoints_asked));
    EXPECT_EQ(run.after_local.size(), c.after_local) << "only `local` keeps its EC2 crawl";
  }
}

TEST(DatasourceRegistry, HelpAndOptionsComeFromTheTable) {
  const auto text = usage();
  for (const auto& k : datasource_kinds()) {
    EXPECT_THAT(text, HasSubstr("  " + std::string(k.name) + " ")) << k.name;
    if (k.location_option.empty()) continue;
    EXPECT_THAT(text, HasSubstr(std::string(k.location_option))) << k.name;
    const auto o = parse_cli({"local", std::string(k.location_option), "somewhere"});
    EXPECT_EQ(o.locations.at(std::string(k.name)), "somewhere");
  }
  EXPECT_THAT([] { with_order({}, "context azure"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown datasource 'azure' (context, "
                                                        "nocloud, ec2)")));
  EXPECT_EQ(with_order({}, "ec2,context").order, (std::vector<std::string>{"ec2", "context"}));
}

}  // namespace
}  // namespace cloudtwin::agent
