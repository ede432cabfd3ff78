// ImageTool over the qemu-img program.
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/image.hpp"
#include "process.hpp"

namespace cloudtwin::host {
namespace {

class QemuImgTool final : public ImageTool {
 public:
  explicit QemuImgTool(std::string qemu_img) : qemu_img_(std::move(qemu_img)) {}

  std::string info_json(const std::string& path, const std::string& format) override {
    // -U: base images are open read-only by running VMs, which hold a shared lock.
    std::vector<std::string> args{qemu_img_, "info", "-U", "--output=json"};
    if (!format.empty()) args.insert(args.end(), {"-f", format});
    args.push_back(path);
    std::string out;
    const int status = run_process(args, [&out](std::string_view chunk) {
      if (out.size() < kMaxInfo) out.append(chunk);
    });
    if (status != 0) {
      throw Error(ErrorCode::InvalidArgument,
                  "qemu-img info " + path + " failed with status " + std::to_string(status) +
                      (format.empty() ? "" : " (is it really " + format + "?)"));
    }
    return out;
  }

  void convert_to_qcow2(const std::string& src, const std::string& format, const std::string& dst,
                        const std::function<void(double)>& progress) override {
    std::string tail;  // progress lines end in \r; keep only the end of the stream
    const int status = run_process(
        {qemu_img_, "convert", "-p", "-f", format, "-O", "qcow2", src, dst},
        [&](std::string_view chunk) {
          tail = (tail + std::string(chunk))
                     .substr(tail.size() + chunk.size() > 64 ? tail.size() + chunk.size() - 64 : 0);
          if (const auto p = parse_qemu_img_progress(tail); p && progress) progress(*p);
        });
    if (status != 0) {
      throw Error(ErrorCode::Io, "qemu-img convert of " + src + " (" + format + ") to " + dst +
                                     " failed with status " + std::to_string(status));
    }
  }

 private:
  static constexpr std::size_t kMaxInfo = 1 << 20;
  std::string qemu_img_;
};

}  // namespace

std::unique_ptr<ImageTool> make_qemu_img_tool(std::string qemu_img) {
  return std::make_unique<QemuImgTool>(std::move(qemu_img));
}

}  // namespace cloudtwin::host
