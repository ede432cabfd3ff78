// IsoWriter over libisofs: the context CD is built in process (no genisoimage run).
// The only file that includes libisofs.
#include <stdint.h>  // libisofs.h uses uint32_t without including it
#include <sys/stat.h>
#include <sys/types.h>

// Without libburn, libisofs.h declares struct burn_source itself.
#define LIBISOFS_WITHOUT_LIBBURN 1

#include <libisofs/libisofs.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"

namespace cloudtwin::host {
namespace {

[[noreturn]] void fail(const std::string& what, int code) {
  char text[256] = {};
  std::snprintf(text, sizeof text, "%s (libisofs error 0x%x)", what.c_str(),
                static_cast<unsigned>(code));
  throw Error(ErrorCode::Io, text);
}

void check(int rc, const std::string& what) {
  if (rc < 0) fail(what, rc);
}

struct ImageUnref {
  void operator()(IsoImage* i) const { iso_image_unref(i); }
};
struct OptsFree {
  void operator()(IsoWriteOpts* o) const { iso_write_opts_free(o); }
};
struct SourceFree {
  void operator()(burn_source* s) const {
    s->free_data(s);
    std::free(s);
  }
};

class LibisofsWriter final : public IsoWriter {
 public:
  LibisofsWriter() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] { rc = iso_init(); });
    check(rc, "cannot initialise libisofs");
  }

  void write(const std::string& path, const std::string& volume_id,
             const std::vector<File>& files) override {
    IsoImage* raw = nullptr;
    check(iso_image_new(volume_id.c_str(), &raw), "cannot create ISO image");
    std::unique_ptr<IsoImage, ImageUnref> image(raw);
    iso_image_set_volume_id(image.get(), volume_id.c_str());
    auto* root = iso_image_get_root(image.get());
    for (const auto& f : files) add(image.get(), root, f, path);

    IsoWriteOpts* raw_opts = nullptr;
    check(iso_write_opts_new(&raw_opts, 0), "cannot create ISO options");
    std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
    iso_write_opts_set_rockridge(opts.get(), 1);
    iso_write_opts_set_joliet(opts.get(), 1);
    iso_write_opts_set_omit_version_numbers(opts.get(),
                                            2);  // no ";1" on Joliet names, as genisoimage
    burn_source* raw_src = nullptr;
    check(iso_image_create_burn_source(image.get(), opts.get(), &raw_src),
          "cannot start writing " + path);
    std::unique_ptr<burn_source, SourceFree> src(raw_src);
    drain(src.get(), path);
  }

 private:
  static void add(IsoImage* image, IsoDir* root, const File& f, const std::string& iso) {
    if (!f.host_path.empty()) {
      IsoNode* node = nullptr;
      check(iso_tree_add_new_node(image, root, f.name.c_str(), f.host_path.c_str(), &node),
            "cannot add " + f.host_path + " to " + iso + " (missing file or duplicate name '" +
                f.name + "')");
      return;
    }
    auto* buf = static_cast<unsigned char*>(std::malloc(f.content.empty() ? 1 : f.content.size()));
    if (buf == nullptr) throw Error(ErrorCode::System, "out of memory writing " + iso);
    std::memcpy(buf, f.content.data(), f.content.size());
    IsoStream* stream = nullptr;
    const int rc = iso_memory_stream_new(buf, f.content.size(), &stream);
    if (rc < 0) {
      std::free(buf);
      fail("cannot add " + f.name + " to " + iso, rc);
    }
    IsoFile* file = nullptr;
    const int added = iso_image_add_new_file(image, root, f.name.c_str(), stream, &file);
    if (added < 0) {
      iso_stream_unref(stream);
      fail("cannot add " + f.name + " to " + iso + " (duplicate name?)", added);
    }
    iso_node_set_permissions(reinterpret_cast<IsoNode*>(file), 0444);
  }

  static void drain(burn_source* src, const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::Io, "cannot create " + path + ": " + std::strerror(errno));
    // Big reads: libisofs writes the image in its own thread through a ring buffer, and
    // every read that finds it empty waits for that thread; a context CD is a few dozen
    // blocks, so one read instead of one per 2 KiB block. The size is known up front, and
    // reads must not run past it: libisofs drops a partial last read at the end.
    const auto total = static_cast<std::size_t>(src->get_size(src));
    std::vector<unsigned char> buf(std::min<std::size_t>(total, std::size_t{1} << 20));
    for (std::size_t done = 0; done < total;) {
      const auto want = static_cast<int>(std::min(buf.size(), total - done));
      const int n = src->read_xt(src, buf.data(), want);
      if (n != want) {
        out.close();
        std::remove(path.c_str());
        throw Error(ErrorCode::Io, "libisofs failed while writing " + path);
      }
      out.write(reinterpret_cast<const char*>(buf.data()), n);
      done += static_cast<std::size_t>(n);
    }
    out.close();
    // The CD may carry user-data secrets: root only; libvirt chowns it to qemu at start.
    if (!out || ::chmod(path.c_str(), 0600) != 0) {
      const auto why = std::strerror(errno);
      std::remove(path.c_str());
      throw Error(ErrorCode::Io, "cannot write " + path + ": " + why);
    }
  }
};

}  // namespace

std::unique_ptr<IsoWriter> make_libisofs_writer() { return std::make_unique<LibisofsWriter>(); }

}  // namespace cloudtwin::host
