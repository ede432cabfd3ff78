// Records written by the release before (no record-version, the host's bookkeeping as
// "x-cloudtwin-host" with snake_case keys) are read; they are written back in this
// release's form. The fixtures were written by that release's `plan_vm` (commit e84b0d2).
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/instance.hpp"
#include "test_data.hpp"

namespace cloudtwin::record {
namespace {

using testing::data;

TEST(RecordMigration, VersionOneHostExtensionBecomesHost) {
  const auto i = parse_instance_json(data("v1_full.json"), "v1_full.json");
  EXPECT_EQ(i.instance_id, "i-0123456789abcdef0");
  EXPECT_TRUE(i.extensions.empty());  // x-cloudtwin-host is not kept as an extension
  EXPECT_EQ(i.host.kind, "libvirt");
  EXPECT_EQ(i.host.name, "web1");
  ASSERT_EQ(i.host.nics.size(), 1U);
  EXPECT_EQ(i.host.nics[0].mac.to_string(), "02:00:c0:a8:7a:02");
  EXPECT_EQ(i.host.nics[0].network, "lan");
  EXPECT_EQ(i.host.nics[0].gateway.to_string(), "192.168.122.1");
  EXPECT_EQ(i.host.context_iso, "/inst/web1/context.iso");
  EXPECT_EQ(i.host.cidata_iso, "/inst/web1/cidata.iso");
  EXPECT_EQ(i.host.overlays, std::vector<std::string>{"/inst/web1/disk0.qcow2"});
  EXPECT_EQ(i.host.images, std::vector<std::string>{"base.qcow2"});
  EXPECT_EQ(i.host.console_log, "/inst/web1/console.log");
  EXPECT_TRUE(i.host.console_log_owned);
  EXPECT_TRUE(i.host.vpn);
  ASSERT_EQ(i.nics().size(), 1U);
  EXPECT_EQ(i.nics()[0].network, "lan");
  // Written back in this release's form, which reads back the same.
  const auto text = instance_to_json(i);
  EXPECT_EQ(text.rfind(R"({"record-version":2,"instance-id":"i-0123456789abcdef0",)", 0), 0U)
      << text;
  EXPECT_EQ(text.find("x-cloudtwin-host"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("host":{"kind":"libvirt","name":"web1","nics":[{"mac":)"
                      R"("02:00:c0:a8:7a:02","network":"lan","gateway":"192.168.122.1"}],)"
                      R"("context-iso":"/inst/web1/context.iso","cidata-iso":)"
                      R"("/inst/web1/cidata.iso","overlays":["/inst/web1/disk0.qcow2"],)"
                      R"("images":["base.qcow2"],"console-log":"/inst/web1/console.log",)"
                      R"("console-log-owned":true,"vpn":true}})"),
            std::string::npos)
      << text;
  EXPECT_EQ(parse_instance_json(text, "v2"), i);
}

TEST(RecordMigration, EveryVersionOneFixtureReadsAsItsVersionTwoForm) {
  for (const auto* name : {"v1_plan.json", "v1_full.json", "v1_docs_example.json"}) {
    const auto v1 = parse_instance_json(data(name), name);
    EXPECT_FALSE(v1.host.name.empty()) << name;
    EXPECT_EQ(parse_instance_json(instance_to_json(v1), "v2"), v1) << name;
  }
}

TEST(RecordMigration, BadVersionOneHostPartsSayWhere) {
  const struct {
    const char* json;
    const char* message_part;
  } cases[] = {
      {R"({"instance-id":"i-1","x-cloudtwin-host":{"nics":[1]}})", "'host.nics'"},
      {R"({"instance-id":"i-1","x-cloudtwin-host":{"nics":[{"mac":"zz"}]}})", "'host.nics[0].mac'"},
      {R"({"instance-id":"i-1","x-cloudtwin-host":{"bogus_key":1}})",
       "'host.bogus-key': unknown key"},
      {R"({"instance-id":"i-1","x-cloudtwin-host":"text"})", "'host': expected an object"},
      {R"({"instance-id":"i-1","x-cloudtwin-host":{},"host":{}})", "not both"},
      {R"({"record-version":3,"instance-id":"i-1"})", "newer cloudtwin"},
  };
  for (const auto& c : cases) {
    try {
      parse_instance_json(c.json, "r.json");
      ADD_FAILURE() << "accepted: " << c.json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("r.json: ")), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos)
          << c.json << " -> " << e.what();
    }
  }
}

TEST(RecordMigration, VersionTwoKeepsXCloudtwinHostAsAnExtension) {
  const auto i = parse_instance_json(
      R"({"record-version":2,"instance-id":"i-1","x-cloudtwin-host":{"name":"a"}})", "t");
  EXPECT_EQ(i.host, HostRecord{});
  EXPECT_EQ(i.extensions.at("x-cloudtwin-host"), R"({"name":"a"})");
}

}  // namespace
}  // namespace cloudtwin::record
