// The context CD datasource against fakes (search, retries, errors) and against real ISO
// images written by genisoimage and read with libisofs (no mount).
#include "cloudtwin/agent/context_cd.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absent_datasource.hpp"
#include "cloudtwin/agent/adapters/iso_disk.hpp"
#include "cloudtwin/core/error.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::make_iso;
using testing::TempDir;

class FakeLocator : public DiskLocator {
 public:
  std::optional<std::string> find_by_label(const std::string& label) override {
    labels.push_back(label);
    if (static_cast<int>(labels.size()) < found_at) return std::nullopt;
    return device;
  }
  std::optional<std::string> device;
  int found_at = 1;  // found from this call on
  std::vector<std::string> labels;
};

class FakeDisk : public ContextDisk {
 public:
  explicit FakeDisk(std::map<std::string, std::string> files, std::string label = "CONTEXT")
      : files_(std::move(files)), label_(std::move(label)) {}
  std::string volume_id() const override { return label_; }
  std::optional<std::string> read_file(std::string_view path, std::size_t max_size) override {
    const auto it = files_.find(std::string(path));
    if (it == files_.end()) return std::nullopt;
    if (it->second.size() > max_size) throw Error(ErrorCode::Io, "too large: " + std::string(path));
    return it->second;
  }

 private:
  std::map<std::string, std::string> files_;
  std::string label_;
};

ContextCdDatasource::Opener fake_opener(std::map<std::string, std::string> files,
                                        std::string label = "CONTEXT") {
  return [=](const std::string&) { return std::make_unique<FakeDisk>(files, label); };
}

TEST(ContextCd, NoDeviceIsNotFound) {
  FakeLocator locator;
  ContextCdDatasource ds(locator, fake_opener({}), {});
  EXPECT_FALSE(ds.probe());
  EXPECT_THAT(locator.labels, ElementsAre("CONTEXT"));
}

TEST(ContextCd, RetriesWhileTheDeviceAppears) {
  FakeLocator locator;
  locator.device = "/dev/sr0";
  locator.found_at = 3;
  std::vector<std::chrono::milliseconds> sleeps;
  ContextCdOptions options;
  options.attempts = 5;
  options.retry_delay = std::chrono::milliseconds(50);
  ContextCdDatasource ds(locator, fake_opener({{"context.sh", "HOSTNAME='a'\n"}}), options,
                         [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(locator.labels.size(), 3u);
  EXPECT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(ds.location(), "/dev/sr0");
  EXPECT_EQ(ds.hostname(), "a");
}

TEST(ContextCd, GivesUpAfterTheLastAttemptWithoutSleepingAgain) {
  FakeLocator locator;
  int sleeps = 0;
  ContextCdOptions options;
  options.attempts = 3;
  ContextCdDatasource ds(locator, fake_opener({}), options, [&](auto) { ++sleeps; });
  EXPECT_FALSE(ds.probe());
  EXPECT_EQ(sleeps, 2);
}

TEST(ContextCd, MissingContextShIsAnError) {
  FakeLocator locator;
  locator.device = "/dev/sr1";
  ContextCdDatasource ds(locator, fake_opener({{"other", "x"}}), {});
  try {
    ds.probe();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_THAT(e.what(), HasSubstr("context CD /dev/sr1 (volume 'CONTEXT') has no context.sh"));
  }
}

TEST(ContextCd, SyntaxErrorNamesDeviceAndLine) {
  FakeLocator locator;
  locator.device = "/dev/sr0";
  ContextCdDatasource ds(locator, fake_opener({{"context.sh", "A='1'\nB=$(reboot)\n"}}), {});
  try {
    ds.probe();
    FAIL() << "expected a parse error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.source(), "/dev/sr0:context.sh");
    EXPECT_EQ(e.line(), 2u);
  }
}

TEST(ContextCd, FilesAndInitScriptsByBaseNameWithWarnings) {
  FakeLocator locator;
  ContextCdOptions options;
  options.device = "ctx.iso";
  options.max_file_size = 4;
  ContextCdDatasource ds(
      locator,
      fake_opener(
          {{"context.sh",
            "FILES='/srv/a.txt /srv/missing big'\nINIT_SCRIPTS='a.txt init.sh'\nVMID='7'\n"},
           {"a.txt", "A"},
           {"init.sh", "#!/"},
           {"big", "12345"}},
          "OTHER"),
      options);
  ASSERT_TRUE(ds.probe());
  EXPECT_TRUE(locator.labels.empty()) << "a given device is not searched for";
  const auto files = ds.files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "a.txt");
  EXPECT_EQ(files[1].name, "init.sh");
  EXPECT_EQ(ds.instance_id(), "7");
  const auto w = ds.warnings();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_THAT(w[0], HasSubstr("volume label 'OTHER', expected 'CONTEXT'"));
  EXPECT_THAT(w[1], HasSubstr("file 'missing' listed in FILES/INIT_SCRIPTS is not on the CD"));
  EXPECT_THAT(w[2], HasSubstr("too large: big"));
}

TEST(ContextCd, BadUserDataDoesNotStopTheNetworkPlan) {
  FakeLocator locator;
  locator.device = "/dev/sr0";
  ContextCdDatasource ds(locator,
                         fake_opener({{"context.sh",
                                       "ETH0_MAC='02:00:c0:a8:7a:0a'\nUSER_DATA='%%%'\n"
                                       "USER_DATA_ENCODING='base64'\n"}}),
                         {});
  ASSERT_TRUE(ds.probe());
  EXPECT_THROW(ds.user_data(), Error);
  EXPECT_EQ(ds.network_plan({}).nics.size(), 1u);
}

TEST(Datasources, FirstFoundWinsAndErrorsAreRecorded) {
  FakeLocator broken_locator;
  broken_locator.device = "/dev/sr9";
  std::vector<std::unique_ptr<Datasource>> sources;
  sources.push_back(
      std::make_unique<ContextCdDatasource>(broken_locator, fake_opener({}), ContextCdOptions{}));
  sources.push_back(std::make_unique<testing::AbsentDatasource>("nocloud"));
  sources.push_back(std::make_unique<testing::AbsentDatasource>("ec2"));
  const auto result = probe_datasources(sources);
  EXPECT_EQ(result.found, nullptr);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0], HasSubstr("context-cd: context CD /dev/sr9"));
  EXPECT_THAT(result.not_found, ElementsAre("nocloud", "ec2"));
}

// --- real ISO images, read with libisofs -------------------------------------------

class IsoImage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_program("genisoimage")) GTEST_SKIP() << "genisoimage is not installed";
  }
  TempDir dir_;
};

TEST_F(IsoImage, ReadsContextAndFilesWithRockRidge) {
  const auto iso = make_iso(
      dir_, {{"context.sh", "HOSTNAME='web-1'\nFILES='/x/motd.txt'\n"}, {"motd.txt", "hello\n"}});
  EXPECT_EQ(probe_label(iso.string()), "CONTEXT");
  auto disk = open_iso_disk(iso.string());
  EXPECT_EQ(disk->volume_id(), "CONTEXT");
  EXPECT_EQ(disk->read_file("context.sh", 1024), "HOSTNAME='web-1'\nFILES='/x/motd.txt'\n");
  EXPECT_EQ(disk->read_file("nope", 1024), std::nullopt);

  FakeLocator locator;
  ContextCdOptions options;
  options.device = iso.string();
  ContextCdDatasource ds(locator, open_iso_disk, options);
  ASSERT_TRUE(ds.probe());
  EXPECT_EQ(ds.hostname(), "web-1");
  ASSERT_EQ(ds.files().size(), 1u);
  EXPECT_EQ(ds.files()[0].content, "hello\n");
  EXPECT_TRUE(ds.warnings().empty());
}

TEST_F(IsoImage, PlainIso9660NamesMatchCaseInsensitively) {
  const auto iso = make_iso(dir_, {{"context.sh", "A='1'\n"}}, "CONTEXT", "");
  auto disk = open_iso_disk(iso.string());
  EXPECT_EQ(disk->read_file("context.sh", 1024), "A='1'\n");
}

TEST_F(IsoImage, LargeFileIsRefused) {
  const auto iso = make_iso(dir_, {{"context.sh", std::string(5000, '#')}});
  auto disk = open_iso_disk(iso.string());
  EXPECT_THAT(
      [&] { disk->read_file("context.sh", 4096); },
      ::testing::ThrowsMessage<Error>(HasSubstr("5000 bytes, more than the limit of 4096")));
}

TEST_F(IsoImage, NotAnIsoIsAnIoErrorNamingThePath) {
  const auto junk = dir_.path() / "junk.img";
  testing::write_file(junk, std::string(64 * 1024, 'x'));
  EXPECT_EQ(probe_label(junk.string()), std::nullopt);
  EXPECT_THAT([&] { open_iso_disk(junk.string()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("context CD " + junk.string())));
  EXPECT_THAT([&] { open_iso_disk((dir_.path() / "absent.iso").string()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("cannot open")));
}

TEST(BlkidLocator, UnknownLabelIsNotFound) {
  BlkidLocator locator;
  EXPECT_EQ(locator.find_by_label("CLOUDTWIN-NO-SUCH-LABEL-0"), std::nullopt);
}

}  // namespace
}  // namespace cloudtwin::agent
