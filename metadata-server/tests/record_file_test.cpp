// The records directory read as hostile input: a record that is a symlink (to a secret),
// a FIFO, a directory or oversized is skipped, and nothing of its content reaches the log.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cloudtwin/metadata/instance_store.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;

class RecordDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ct-records-XXXXXX";
    root = ::mkdtemp(tmpl);
    fs::create_directories(root / "records");
    std::ofstream(root / "secret") << "Qsecret-password-Q";
    ::chmod((root / "secret").c_str(), 0600);
    std::ofstream(root / "records/good.json")
        << R"({"instance-id":"i-good","serve-to":["10.0.0.1"]})";
  }
  void TearDown() override { fs::remove_all(root); }
  std::vector<std::string> load() {
    std::vector<std::string> log;
    DirectoryInstanceStore store(
        root / "records", nullptr, [&log](const std::string& l) { log.push_back(l); },
        std::chrono::milliseconds(0));
    store.reload();
    served = store.size();
    good = store.find("", "10.0.0.1") != nullptr;
    return log;
  }
  fs::path root;
  std::size_t served = 0;
  bool good = false;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

struct HostileCase {
  const char* name;
  const char* file;
  const char* expect;  // in the log line about it
};

class HostileRecord : public RecordDir, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileRecord, IsSkippedWithoutEchoingItsContent) {
  const auto& c = GetParam();
  const auto path = root / "records" / c.file;
  const std::string kind = c.name;
  if (kind == "symlink_to_secret") {
    fs::create_symlink(root / "secret", path);
  } else if (kind == "symlink_to_record") {
    std::ofstream(root / "elsewhere.json") << R"({"instance-id":"i-x","serve-to":["10.0.0.9"]})";
    fs::create_symlink(root / "elsewhere.json", path);
  } else if (kind == "fifo") {
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  } else if (kind == "oversized") {
    std::ofstream out(path);
    out << R"({"instance-id":"i-big","serve-to":["10.0.0.2"],"user-data":")"
        << std::string(2 * 1024 * 1024, 'Q') << "\"}";
  } else if (kind == "not_json") {
    std::ofstream(path) << "Qsecret-password-Q";
  }
  const auto log = joined(load());
  EXPECT_TRUE(good) << log;
  EXPECT_EQ(served, 1u) << log;
  EXPECT_NE(log.find(std::string(c.file)), std::string::npos) << log;
  EXPECT_NE(log.find(c.expect), std::string::npos) << log;
  // nlohmann quotes what it read last ("last read: 'Q'"); the temp dir's name may hold a Q.
  EXPECT_EQ(log.find("'Q"), std::string::npos) << "content of the file reached the log:\n" << log;
  EXPECT_EQ(log.find("secret-password"), std::string::npos) << log;
  EXPECT_EQ(log.find("last read"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(
    Records, HostileRecord,
    ::testing::Values(HostileCase{"symlink_to_secret", "x.json", "not a regular file"},
                      HostileCase{"symlink_to_record", "y.json", "not a regular file"},
                      HostileCase{"fifo", "f.json", "not a regular file"},
                      HostileCase{"oversized", "big.json", "larger than"},
                      HostileCase{"not_json", "bad.json", "not valid JSON"}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace cloudtwin::metadata
