// The EC2 host's records as files: DIR/NAME.json, 0600 (a record names what the VM owns;
// never credentials), replaced atomically (write to a temporary file, fsync, rename).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/ec2_host.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;

class Ec2RecordFiles final : public Ec2RecordStore {
 public:
  explicit Ec2RecordFiles(std::string dir) : dir_(std::move(dir)) {}

  std::vector<record::Instance> load() override {
    std::vector<record::Instance> out;
    std::error_code ec;
    if (!fs::exists(dir_, ec)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (e.path().extension() == ".json" && e.path().filename().string().front() != '.')
        files.push_back(e.path());
    }
    if (ec) throw Error(ErrorCode::Io, "cannot list " + dir_ + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      try {
        out.push_back(record::parse_instance_json(s.str(), f.string()));
      } catch (const Error&) {  // a damaged record must not hide the other VMs
      }
    }
    return out;
  }

  void save(const record::Instance& r) override {
    ensure_dir();
    const auto path = dir_ + "/" + r.host.name + ".json";
    const auto tmp = dir_ + "/." + r.host.name + ".json.tmp";
    const auto text = record::instance_to_json(r) + "\n";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot write " + tmp);
    std::size_t done = 0;
    while (done < text.size()) {
      const auto n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        errno = e;
        fail("cannot write " + tmp);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) fail("cannot write " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot replace " + path);
  }

  void erase(const std::string& vm) override {
    const auto path = dir_ + "/" + vm + ".json";
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + path);
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw Error(ErrorCode::Io, what + ": " + std::strerror(errno));
  }

  void ensure_dir() {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw Error(ErrorCode::Io, "cannot create " + dir_ + ": " + ec.message());
    ::chmod(dir_.c_str(), 0700);
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<Ec2RecordStore> make_ec2_record_files(std::string dir) {
  return std::make_unique<Ec2RecordFiles>(std::move(dir));
}

}  // namespace cloudtwin::host
