// The only file that includes libisofs.
#include "cloudtwin/agent/adapters/iso_disk.hpp"

#include <libisofs.h>

#include <cctype>
#include <mutex>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

void init_libisofs() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    result = iso_init();
    // Keep libisofs quiet: failures come back to us as return codes and we word them.
    char never[] = "NEVER";
    char prefix[] = "cloudtwin-agent";
    iso_set_msgs_severities(never, never, prefix);
  });
  if (result < 0) throw Error(ErrorCode::System, "libisofs failed to initialise");
}

std::string iso_message(int code) {
  const char* msg = iso_error_to_msg(code);
  return msg ? msg : "libisofs error " + std::to_string(code);
}

class IsoDisk : public ContextDisk {
 public:
  explicit IsoDisk(std::string path) : path_(std::move(path)) {
    init_libisofs();
    int rc = iso_data_source_new_from_file(path_.c_str(), &source_);
    if (rc < 0) fail("cannot open", rc);
    rc = iso_read_opts_new(&opts_, 0);
    if (rc < 0) fail("cannot create read options", rc);
    rc = iso_image_new("context", &image_);
    if (rc < 0) fail("cannot create image", rc);
    IsoReadImageFeatures* features = nullptr;
    rc = iso_image_import(image_, source_, opts_, &features);
    if (features) iso_read_image_features_destroy(features);
    if (rc < 0) fail("is not a readable ISO 9660 image", rc);
  }
  ~IsoDisk() override { release(); }
  IsoDisk(const IsoDisk&) = delete;
  IsoDisk& operator=(const IsoDisk&) = delete;

  std::string volume_id() const override {
    const char* id = iso_image_get_volume_id(image_);
    return id ? id : "";
  }

  std::optional<std::string> read_file(std::string_view path, std::size_t max_size) override {
    IsoNode* node = find(path);
    if (!node || iso_node_get_type(node) != LIBISO_FILE) return std::nullopt;
    IsoStream* stream = iso_file_get_stream(reinterpret_cast<IsoFile*>(node));
    const off_t size = iso_stream_get_size(stream);
    if (size < 0 || static_cast<std::size_t>(size) > max_size) {
      throw Error(ErrorCode::Io, where(path) + " is " + std::to_string(size) +
                                     " bytes, more than the limit of " + std::to_string(max_size));
    }
    int rc = iso_stream_open(stream);
    if (rc < 0) fail_file(path, "cannot be opened", rc);
    std::string out;
    out.resize(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < out.size()) {
      rc = iso_stream_read(stream, out.data() + done, out.size() - done);
      if (rc <= 0) break;
      done += static_cast<std::size_t>(rc);
    }
    iso_stream_close(stream);
    if (rc < 0) fail_file(path, "cannot be read", rc);
    out.resize(done);
    return out;
  }

 private:
  IsoNode* find(std::string_view path) {
    const std::string absolute = "/" + std::string(path);
    IsoNode* node = nullptr;
    if (iso_tree_path_to_node(image_, absolute.c_str(), &node) == 1) return node;
    // Plain ISO 9660 without Rock Ridge or Joliet has upper-case names: match the root
    // directory case-insensitively, as the kernel's isofs does with map=normal.
    if (path.find('/') != std::string_view::npos) return nullptr;
    IsoDirIter* iter = nullptr;
    if (iso_dir_get_children(iso_image_get_root(image_), &iter) != 1) return nullptr;
    IsoNode* found = nullptr;
    IsoNode* child = nullptr;
    while (!found && iso_dir_iter_next(iter, &child) == 1) {
      const char* name = iso_node_get_name(child);
      if (name && core::equals_icase(name, path)) found = child;
    }
    iso_dir_iter_free(iter);
    return found;
  }

  std::string where(std::string_view file) const {
    return "context CD " + path_ + ": file '" + std::string(file) + "'";
  }
  [[noreturn]] void fail(const char* what, int rc) {
    release();
    throw Error(ErrorCode::Io, "context CD " + path_ + " " + what + ": " + iso_message(rc));
  }
  [[noreturn]] void fail_file(std::string_view file, const char* what, int rc) const {
    throw Error(ErrorCode::Io, where(file) + " " + what + ": " + iso_message(rc));
  }
  void release() {
    if (image_) iso_image_unref(image_);
    if (opts_) iso_read_opts_free(opts_);
    if (source_) iso_data_source_unref(source_);
    image_ = nullptr;
    opts_ = nullptr;
    source_ = nullptr;
  }

  std::string path_;
  IsoDataSource* source_ = nullptr;
  IsoReadOpts* opts_ = nullptr;
  IsoImage* image_ = nullptr;
};

}  // namespace

std::unique_ptr<ContextDisk> open_iso_disk(const std::string& path) {
  return std::make_unique<IsoDisk>(path);
}

}  // namespace cloudtwin::agent
