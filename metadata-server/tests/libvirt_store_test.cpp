// The libvirt record source against libvirt's in-process test driver (test:///default:
// no daemon, no root). The test defines domains through its own connection; the store
// sees them through its connection's domain events.
#include <libvirt/libvirt.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "cloudtwin/metadata/libvirt_store.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::metadata {
namespace {

std::string record(const std::string& id, const std::string& ip) {
  return R"({"instance-id":")" + id + R"(","network-interfaces":[{"mac":"02:00:0a:00:00:0)" +
         ip.substr(ip.rfind('.') + 1) + R"(","local-ipv4s":[")" + ip + R"("]}]})";
}

std::string domain_xml(const std::string& name, const std::string& metadata) {
  return "<domain type='test'><name>" + name +
         "</name><memory>8192</memory><os><type>hvm</type></os>" +
         (metadata.empty() ? "" : "<metadata>" + metadata + "</metadata>") + "</domain>";
}

class Log {
 public:
  LogSink sink() {
    return [this](const std::string& l) {
      const std::lock_guard lock(m_);
      lines_ += l + "\n";
    };
  }
  std::string text() const {
    const std::lock_guard lock(m_);
    return lines_;
  }

 private:
  mutable std::mutex m_;
  std::string lines_;
};

// virDomainSetMetadata wants the element without a namespace of its own: it adds one.
std::string bare_element(const std::string& json) {
  auto e = record::record_element(json);
  const auto open_end = e.find('>');
  return "<instance>" + e.substr(open_end + 1, e.rfind('<') - open_end - 1) + "</instance>";
}

template <typename F>
bool eventually(F&& ok) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ok();
}

class LibvirtStore : public ::testing::Test {
 protected:
  void SetUp() override {
    conn_ = virConnectOpen("test:///default");
    ASSERT_NE(conn_, nullptr);
  }
  void TearDown() override {
    for (const auto& name : defined_) {
      if (virDomainPtr d = virDomainLookupByName(conn_, name.c_str())) {
        virDomainUndefine(d);
        virDomainFree(d);
      }
    }
    virConnectClose(conn_);
  }
  virDomainPtr define(const std::string& name, const std::string& metadata) {
    defined_.push_back(name);
    return virDomainDefineXML(conn_, domain_xml(name, metadata).c_str());
  }
  virConnectPtr conn_ = nullptr;
  std::vector<std::string> defined_;
};

TEST_F(LibvirtStore, LoadsAtStartFollowsEventsSkipsCorruptRecords) {
  virDomainPtr a = define("ct-a", record::record_element(record("i-a", "10.0.0.1")));
  ASSERT_NE(a, nullptr);
  Log log;
  LibvirtInstanceStore store("test:///default", nullptr, log.sink());
  EXPECT_TRUE(store.connected());
  // Loaded at start; the domain "test" of the test driver has no record: not served.
  ASSERT_TRUE(store.find("", "10.0.0.1")) << log.text();
  EXPECT_EQ(store.find("", "10.0.0.1")->instance.instance_id, "i-a");
  EXPECT_EQ(store.find("", "10.0.0.1")->name, "ct-a");
  EXPECT_EQ(store.size(), 1u);

  // Defined later, record added afterwards with virDomainSetMetadata.
  virDomainPtr b = define("ct-b", "");
  ASSERT_NE(b, nullptr);
  const auto json = record("i-b", "10.0.0.2");
  ASSERT_EQ(virDomainSetMetadata(b, VIR_DOMAIN_METADATA_ELEMENT, bare_element(json).c_str(),
                                 record::kRecordPrefix, record::kRecordNamespace,
                                 VIR_DOMAIN_AFFECT_CONFIG),
            0);
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.2") != nullptr; })) << log.text();
  EXPECT_EQ(store.all().size(), 2u);

  // Started and stopped: still served while defined.
  ASSERT_EQ(virDomainCreate(b), 0);
  ASSERT_EQ(virDomainDestroy(b), 0);
  EXPECT_TRUE(store.find("", "10.0.0.2"));

  // A corrupt record is logged with the domain's name and skipped; the others stay.
  ASSERT_EQ(virDomainSetMetadata(b, VIR_DOMAIN_METADATA_ELEMENT,
                                 bare_element(R"({"instance-id":"i-b","bogus":1})").c_str(),
                                 record::kRecordPrefix, record::kRecordNamespace,
                                 VIR_DOMAIN_AFFECT_CONFIG),
            0);
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.2") == nullptr; })) << log.text();
  EXPECT_NE(log.text().find("domain 'ct-b': key 'bogus'"), std::string::npos) << log.text();
  EXPECT_TRUE(store.find("", "10.0.0.1"));

  // Record removed: gone, and the log says so.
  virDomainPtr c = define("ct-c", record::record_element(record("i-c", "10.0.0.3")));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.3") != nullptr; })) << log.text();
  ASSERT_EQ(virDomainSetMetadata(c, VIR_DOMAIN_METADATA_ELEMENT, nullptr, nullptr,
                                 record::kRecordNamespace, VIR_DOMAIN_AFFECT_CONFIG),
            0);
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.3") == nullptr; })) << log.text();
  EXPECT_NE(log.text().find("dropped domain 'ct-c' (instance i-c): it has no instance record"),
            std::string::npos)
      << log.text();

  // Undefined: gone, and the log says so.
  ASSERT_EQ(virDomainUndefine(a), 0);
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.1") == nullptr; })) << log.text();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_NE(log.text().find("dropped domain 'ct-a' (instance i-a): undefined"), std::string::npos)
      << log.text();
  virDomainFree(c);
  virDomainFree(a);
  virDomainFree(b);
}

TEST(LibvirtStoreNoDaemon, UnreachableUriStartsEmptyAndSaysWhy) {
  Log log;
  LibvirtInstanceStore store("qemu+unix:///system?socket=/nonexistent/libvirt-sock", nullptr,
                             log.sink());
  EXPECT_FALSE(store.connected());
  EXPECT_EQ(store.size(), 0u);
  EXPECT_NE(log.text().find("cannot connect to libvirt at qemu+unix:///system"), std::string::npos)
      << log.text();
  EXPECT_NE(log.text().find("retrying in 500 ms"), std::string::npos) << log.text();
}

}  // namespace
}  // namespace cloudtwin::metadata
