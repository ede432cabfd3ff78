// Image registry: qemu-img info parsing, names, progress, and ImageService over fakes.
#include "cloudtwin/host/image.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using namespace cloudtwin::host::testing;

TEST(ImageInfo, ParsesQemuImgJson) {
  // As printed by qemu-img 7.2 for a qcow2 overlay.
  const auto info = parse_qemu_img_info(R"({
    "backing-filename-format": "qcow2", "virtual-size": 16777216, "filename": "/i/d.qcow2",
    "cluster-size": 65536, "format": "qcow2", "actual-size": 200704,
    "format-specific": {"type": "qcow2", "data": {"compat": "1.1"}},
    "full-backing-filename": "/i/b.qcow2", "backing-filename": "/i/b.qcow2", "dirty-flag": false
  })",
                                        "d.qcow2");
  EXPECT_EQ(info, (ImageInfo{"qcow2", 16777216, 200704, "/i/b.qcow2"}));
  EXPECT_EQ(parse_qemu_img_info(R"({"format":"vpc","virtual-size":1})", "x").format, "vpc");
}

TEST(ImageInfo, RejectsWhatIsNotAnImageDescription) {
  const char* bad[] = {"",
                       "[]",
                       "nonsense",
                       R"({"format":"raw"})",
                       R"({"virtual-size":1})",
                       R"({"format":"","virtual-size":1})",
                       R"({"format":"raw","virtual-size":-1})",
                       R"({"format":"raw","virtual-size":"big"})",
                       R"({"format":["raw"],"virtual-size":1})"};
  for (const auto* b : bad) {
    try {
      parse_qemu_img_info(b, "/x.img");
      ADD_FAILURE() << b;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("qemu-img info for /x.img"), std::string::npos);
    }
  }
}

TEST(ImageNames, DefaultsFormatsAndChecks) {
  EXPECT_EQ(default_image_name("/x/debian-12.raw"), "debian-12.qcow2");
  EXPECT_EQ(default_image_name("disk.vmdk"), "disk.qcow2");
  EXPECT_EQ(default_image_name("/x/plain"), "plain.qcow2");
  EXPECT_EQ(default_image_name("/x/.hidden"), ".hidden.qcow2");  // then refused by the check
  for (const auto* f : {"raw", "qcow2", "vmdk", "vdi", "vpc", "VHD", "vhd"})
    EXPECT_TRUE(is_importable_format(f)) << f;
  for (const auto* f : {"", "luks", "dmg", "qcow", "vhdx"})
    EXPECT_FALSE(is_importable_format(f)) << f;
  EXPECT_EQ(normalise_format("VHD"), "vpc");
  for (const auto* n : {"a", "base.qcow2", "A_b-1.2"}) EXPECT_NO_THROW(check_image_name(n)) << n;
  for (const auto* n : {"", ".x", "-x", "a/b", "..", "a b", "a\nb"})
    EXPECT_THROW(check_image_name(n), Error) << n;
  EXPECT_THROW(check_image_name(std::string(65, 'a')), Error);
}

TEST(ImageNames, ProgressAndSizes) {
  EXPECT_EQ(parse_qemu_img_progress("    (0.00/100%)\r    (12.50/100%)\r"), 12.5);
  EXPECT_EQ(parse_qemu_img_progress("    (100.00/100%)\r"), 100.0);
  EXPECT_EQ(parse_qemu_img_progress("(3"), std::nullopt);
  EXPECT_EQ(parse_qemu_img_progress("(x/100%)"), std::nullopt);
  EXPECT_EQ(parse_qemu_img_progress("(5.0/100%) (bad/100%)"), 5.0);
  EXPECT_EQ(parse_qemu_img_progress("(500/100%)"), std::nullopt);
  EXPECT_EQ(human_size(0), "0 B");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
  EXPECT_EQ(human_size(16777216), "16.0 MiB");
}

struct ImageWorld {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  FakeImageTool tool{fail, storage};
  ImageService images{storage, tool, hv, "/img", "/inst/.lock"};
  ImageWorld() {
    storage.dirs.insert("/img");
    storage.files["/src/disk.vmdk"] = "image vmdk 1048576";
    storage.files["/src/notes.txt"] = "text";
  }
};

TEST(ImageService, RegisterConvertsThroughATemporaryNameAndLists) {
  ImageWorld w;
  std::vector<double> progress;
  const auto s =
      w.images.register_image("/src/disk.vmdk", "", "", [&](double p) { progress.push_back(p); });
  EXPECT_EQ(s.name, "disk.qcow2");
  EXPECT_EQ(s.path, "/img/disk.qcow2");
  EXPECT_EQ(s.info.format, "qcow2");
  EXPECT_EQ(s.info.virtual_size, 1048576U);
  EXPECT_EQ(w.tool.converted, std::vector<std::string>{"vmdk"});
  EXPECT_EQ(progress, (std::vector<double>{0, 50, 100}));
  EXPECT_EQ(w.storage.locks_held, 0);
  w.images.register_image("/src/disk.vmdk", "other", "vmdk", {});
  const auto list = w.images.list();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].name, "disk.qcow2");
  EXPECT_EQ(list[1].name, "other");
  EXPECT_EQ(w.images.show("other").info.format, "qcow2");

  const struct {
    std::string src, name, format, message;
  } bad[] = {
      {"/src/disk.vmdk", "disk.qcow2", "", "an image named 'disk.qcow2' already exists"},
      {"/src/none", "", "", "image file /src/none does not exist"},
      {"/src/disk.vmdk", "x", "luks", "--format luks is not one of"},
      {"/src/disk.vmdk", "x", "raw", "not raw"},
      {"/src/notes.txt", "x", "", "not an image"},
      {"/src/disk.vmdk", "../x", "", "image name '../x'"},
  };
  for (const auto& b : bad) {
    try {
      w.images.register_image(b.src, b.name, b.format, {});
      ADD_FAILURE() << b.message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(w.images.list().size(), 2U);
}

TEST(ImageService, FailedConversionOrRenameLeavesNothing) {
  for (int n = 1; n <= 2; ++n) {  // convert, rename
    ImageWorld w;
    w.fail.fail_at = n;
    EXPECT_THROW(w.images.register_image("/src/disk.vmdk", "", "", {}), Error) << n;
    EXPECT_TRUE(w.images.list().empty()) << n;
    EXPECT_EQ(w.storage.files.size(), 2U) << n;  // only the sources; no ".part" left
    EXPECT_EQ(w.storage.locks_held, 0);
  }
}

TEST(ImageService, ImagesInUseCannotBeDeleted) {
  ImageWorld w;
  w.images.register_image("/src/disk.vmdk", "base.qcow2", "", {});
  NetService(w.hv).create(make_network_spec("lan", "10.0.0.0/24", "", "", "nat"));
  CountingRandom random;
  HostSettings settings;
  settings.images_dir = "/img";
  settings.instances_dir = "/inst";
  w.storage.dirs.insert("/inst");
  VmService vms(w.hv, w.storage, w.storage, random, settings);
  vms.create(parse_vm_template("DISK = [ IMAGE = base.qcow2 ]\nNIC = [ NETWORK = lan ]"), "web",
             "");
  EXPECT_EQ(w.images.show("base.qcow2").used_by, std::vector<std::string>{"web"});
  EXPECT_EQ(w.images.list().at(0).used_by, std::vector<std::string>{"web"});
  try {
    w.images.remove("base.qcow2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "image 'base.qcow2' is used by VM(s) web; delete them first");
  }
  vms.remove("web");
  w.images.remove("base.qcow2");
  EXPECT_TRUE(w.images.list().empty());
  EXPECT_THROW(w.images.remove("base.qcow2"), Error);
}

}  // namespace
}  // namespace cloudtwin::host
