#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "cloudtwin/metadata/instance_store.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("cloudtwin-md-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    const auto tmp = path_ / (name + ".tmp");
    std::ofstream(tmp) << text;
    fs::rename(tmp, path_ / name);  // atomic, as the host CLI writes records
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string record(const std::string& id, const std::string& address,
                   const std::string& network = "") {
  return R"({"instance-id":")" + id + R"(","network":")" + network +
         R"(","network-interfaces":[{"mac":"02:00:0a:00:00:01","local-ipv4s":[")" + address +
         R"("]}]})";
}

struct Collect {
  std::vector<std::string>* lines;
  void operator()(const std::string& l) const { lines->push_back(l); }
};

TEST(DirectoryStore, FindsByAddressAndReloadsOnChange) {
  TempDir dir;
  std::vector<std::string> log;
  dir.write("a.json", record("i-a", "10.0.0.1"));
  dir.write("b.json", record("i-b", "10.0.0.2"));
  dir.write("ignored.txt", "junk");
  DirectoryInstanceStore store(dir.path(), nullptr, Collect{&log}, std::chrono::milliseconds(0));
  ASSERT_TRUE(store.find("", "10.0.0.1"));
  EXPECT_EQ(store.find("", "10.0.0.1")->instance.instance_id, "i-a");
  EXPECT_EQ(store.find("br0", "10.0.0.2")->instance.instance_id,
            "i-b");  // unbound records: any listener
  EXPECT_FALSE(store.find("", "10.0.0.3"));
  EXPECT_EQ(store.size(), 2u);

  dir.write("c.json", record("i-c", "10.0.0.3"));
  fs::remove(dir.path() / "a.json");
  EXPECT_EQ(store.find("", "10.0.0.3")->instance.instance_id, "i-c");
  EXPECT_FALSE(store.find("", "10.0.0.1"));
}

TEST(DirectoryStore, CorruptRecordIsSkippedAndLogged) {
  TempDir dir;
  std::vector<std::string> log;
  dir.write("good.json", record("i-good", "10.0.0.1"));
  dir.write("bad.json", R"({"instance-id":"i-bad", "network-interfaces": [)");
  DirectoryInstanceStore store(dir.path(), nullptr, Collect{&log});
  store.reload();
  EXPECT_TRUE(store.find("", "10.0.0.1"));
  EXPECT_EQ(store.size(), 1u);
  ASSERT_FALSE(log.empty());
  bool named = false;
  for (const auto& l : log)
    named = named || l.find("bad.json: not valid JSON") != std::string::npos;
  EXPECT_TRUE(named);
  const auto before = log.size();
  store.reload();  // unchanged file: not re-parsed, not logged again
  EXPECT_EQ(log.size(), before);
}

TEST(DirectoryStore, WatchRescansOnInotifyEvents) {
  TempDir dir;
  std::mutex m;
  std::vector<std::string> log;
  DirectoryInstanceStore store(
      dir.path(), nullptr,
      [&](const std::string& l) {
        const std::lock_guard lock(m);
        log.push_back(l);
      },
      DirectoryInstanceStore::kNoRescanFromFind);
  store.reload();
  store.watch();
  const auto eventually = [](auto ok) {
    for (int i = 0; i < 1000 && !ok(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return ok();
  };
  dir.write("a.json", record("i-a", "10.0.0.1"));  // rename into place: IN_MOVED_TO
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.1") != nullptr; }));
  EXPECT_EQ(store.all().at(0)->name, "a");
  fs::remove(dir.path() / "a.json");
  EXPECT_TRUE(eventually([&] { return store.find("", "10.0.0.1") == nullptr; }));
}

TEST(DirectoryStore, MissingDirectoryServesNobody) {
  std::vector<std::string> log;
  DirectoryInstanceStore store("/nonexistent/cloudtwin", nullptr, Collect{&log});
  EXPECT_FALSE(store.find("", "10.0.0.1"));
  EXPECT_FALSE(log.empty());
}

TEST(InstanceIndex, NetworksSeparateOverlappingAddresses) {
  auto a = make_served(record::parse_instance_json(record("i-a", "10.0.0.1", "br0"), "a"), nullptr);
  auto b = make_served(record::parse_instance_json(record("i-b", "10.0.0.1", "br1"), "b"), nullptr);
  InstanceIndex index;
  EXPECT_TRUE(index.build({a, b}).empty());
  EXPECT_EQ(index.find("br0", "10.0.0.1")->instance.instance_id, "i-a");
  EXPECT_EQ(index.find("br1", "10.0.0.1")->instance.instance_id, "i-b");
  EXPECT_FALSE(index.find("br2", "10.0.0.1"));
  EXPECT_FALSE(index.find("", "10.0.0.1"));
}

TEST(InstanceIndex, AddressClaimedTwiceIsServedToNobody) {
  auto a = make_served(record::parse_instance_json(record("i-a", "10.0.0.1"), "a"), nullptr);
  auto b = make_served(record::parse_instance_json(record("i-b", "10.0.0.1"), "b"), nullptr);
  auto c = make_served(record::parse_instance_json(record("i-c", "10.0.0.1"), "c"), nullptr);
  auto dup = make_served(record::parse_instance_json(record("i-a", "10.0.0.9"), "dup"), nullptr);
  InstanceIndex index;
  const auto problems = index.build({a, b, c, dup});
  EXPECT_EQ(problems.size(), 2u);
  EXPECT_FALSE(index.find("", "10.0.0.1"));
  EXPECT_FALSE(index.find("", "10.0.0.9"));
}

}  // namespace
}  // namespace cloudtwin::metadata
