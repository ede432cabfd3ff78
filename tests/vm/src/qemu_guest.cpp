#include "cloudtwin/vm/qemu_guest.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/vm/process.hpp"

namespace cloudtwin::vm {
namespace {

using namespace std::chrono_literals;

// QEMU option values use ',' as separator; a literal comma is written ",,".
std::string qemu_escape(const std::string& value) {
  std::string out;
  for (const char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, std::size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

void require_file(const std::filesystem::path& path, const char* what) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("QemuGuest: ") + what + " '" + path.string() + "' does not exist");
  }
}

}  // namespace

std::vector<std::string> qemu_command_line(const QemuGuestConfig& c) {
  std::vector<std::string> argv;
  if (!c.netns.empty()) argv = {"ip", "netns", "exec", c.netns};
  const std::vector<std::string> base{
      c.qemu,
      "-M",
      "pc",
      "-accel",
      "tcg",
      "-m",
      std::to_string(c.memory_mb),
      "-nographic",
      "-nodefaults",
      "-no-reboot",
      "-serial",
      "file:" + qemu_escape(c.serial_log.string()),
      "-kernel",
      c.kernel.string(),
      "-initrd",
      c.initrd.string(),
      "-append",
      "console=ttyS0 panic=-1" + (c.append.empty() ? "" : " " + c.append)};
  argv.insert(argv.end(), base.begin(), base.end());
  if (!c.tap.empty()) {
    argv.insert(
        argv.end(),
        {"-netdev", "tap,id=n0,ifname=" + qemu_escape(c.tap) + ",script=no,downscript=no",
         "-device",
         "virtio-net-pci,netdev=n0" + (c.mac.empty() ? "" : ",mac=" + c.mac) + ",romfile="});
  }
  if (!c.cdrom.empty()) {
    argv.insert(argv.end(), {"-drive", "file=" + qemu_escape(c.cdrom.string()) +
                                           ",media=cdrom,if=ide,readonly=on"});
  }
  argv.insert(argv.end(), c.extra_args.begin(), c.extra_args.end());
  return argv;
}

QemuGuest::QemuGuest(QemuGuestConfig config) : config_(std::move(config)) {
  require_file(config_.kernel, "kernel");
  require_file(config_.initrd, "initrd");
  if (!config_.cdrom.empty()) require_file(config_.cdrom, "CD image");
  if (config_.serial_log.empty()) {
    throw Error(ErrorCode::InvalidArgument, "QemuGuest: serial_log must be set");
  }
  { std::ofstream truncate(config_.serial_log, std::ios::trunc); }

  const auto argv = qemu_command_line(config_);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string err_path = config_.serial_log.string() + ".qemu";

  pid_ = fork();
  if (pid_ < 0) {
    throw Error(ErrorCode::System, std::string("QemuGuest: fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // `ip netns exec` execs qemu in place, so the death signal and pid carry over.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int in = open("/dev/null", O_RDONLY);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, STDIN_FILENO);
    dup2(err, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execvp(args[0], args.data());
    const char msg[] = "QemuGuest: exec failed\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
}

QemuGuest::~QemuGuest() {
  if (pid_ <= 0 || exit_status_) return;
  kill(pid_, SIGTERM);
  if (!wait_exit(3s)) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool QemuGuest::running() {
  if (exit_status_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> QemuGuest::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return exit_status_;
}

std::string QemuGuest::wait_for(std::string_view marker, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Read the log before checking qemu: a guest that prints then powers off still counts.
    const bool alive = running();
    auto text = log();
    if (text.find(marker) != std::string::npos) return text;
    if (!alive) {
      throw Error(ErrorCode::Io, describe("exited with status " + std::to_string(*exit_status_) +
                                          " before printing '" + std::string(marker) + "'"));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::Io, describe("printed no '" + std::string(marker) + "' within " +
                                          std::to_string(timeout.count()) + " ms"));
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::string QemuGuest::log() const { return read_file(config_.serial_log); }

std::string QemuGuest::qemu_stderr() const {
  return read_file(config_.serial_log.string() + ".qemu");
}

std::string QemuGuest::describe(std::string_view what) const {
  return "guest (" + join_command(qemu_command_line(config_)) + ") " + std::string(what) +
         "\n--- serial log " + config_.serial_log.string() + " (tail) ---\n" + tail(log(), 3000) +
         "\n--- qemu stderr ---\n" + tail(qemu_stderr(), 2000);
}

std::optional<std::string> text_between(std::string_view log, std::string_view begin,
                                        std::string_view end) {
  const auto b = log.find(begin);
  if (b == std::string_view::npos) return std::nullopt;
  const auto start = b + begin.size();
  const auto e = log.find(end, start);
  if (e == std::string_view::npos) return std::nullopt;
  return std::string(core::trim(log.substr(start, e - start)));
}

std::optional<std::string> line_value(std::string_view log, std::string_view key) {
  const std::string needle = std::string(key) + "=";
  std::size_t pos = 0;
  while (pos < log.size()) {
    auto eol = log.find('\n', pos);
    if (eol == std::string_view::npos) eol = log.size();
    const auto line = core::trim(log.substr(pos, eol - pos));
    if (line.substr(0, needle.size()) == needle) return std::string(line.substr(needle.size()));
    pos = eol + 1;
  }
  return std::nullopt;
}

}  // namespace cloudtwin::vm
