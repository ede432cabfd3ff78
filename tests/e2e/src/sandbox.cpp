#include "cloudtwin/e2e/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::e2e {

using namespace std::chrono_literals;

Sandbox::Sandbox(std::filesystem::path script, std::filesystem::path dir,
                 std::filesystem::path libvirt_cache)
    : script_(std::move(script)), dir_(std::move(dir)) {
  const auto out = vm::run_checked({"env", "CT_LIBVIRT_CACHE=" + libvirt_cache.string(),
                                    script_.string(), "start", dir_.string()},
                                   90s);
  running_ = true;
  const auto nl = out.find_last_not_of("\n");
  const auto start = out.find_last_of('\n', nl);
  netns_ = out.substr(
      start == std::string::npos ? 0 : start + 1,
      nl == std::string::npos ? 0 : nl - (start == std::string::npos ? 0 : start + 1) + 1);
}

Sandbox::~Sandbox() {
  try {
    stop();
  } catch (...) {  // a destructor cannot throw; the next start reports leftovers
  }
}

std::string Sandbox::stop() {
  if (!running_) return "";
  running_ = false;
  return vm::run_command({script_.string(), "stop", dir_.string()}, 60s).output;
}

vm::CommandResult Sandbox::exec(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) const {
  std::vector<std::string> full{script_.string(), "exec", dir_.string()};
  full.insert(full.end(), argv.begin(), argv.end());
  return vm::run_command(full, timeout);
}

std::string Sandbox::checked(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout) const {
  auto r = exec(argv, timeout);
  if (r.timed_out || r.exit_code != 0) {
    throw Error(ErrorCode::System, "in the sandbox, `" + vm::join_command(argv) + "` " +
                                       (r.timed_out ? std::string("timed out")
                                                    : "exited " + std::to_string(r.exit_code)) +
                                       ":\n" + r.output);
  }
  return r.output;
}

Console::Console(const std::string& pty_path, std::filesystem::path log_path)
    : log_path_(std::move(log_path)), file_(log_path_, std::ios::trunc) {
  fd_ = ::open(pty_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    throw Error(ErrorCode::Io,
                "cannot open console pty '" + pty_path + "': " + std::strerror(errno));
  }
  reader_ = std::thread([this] { pump(); });
}

Console::~Console() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  reader_.join();
  ::close(fd_);
}

void Console::pump() {
  char buf[4096];
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {  // EIO: QEMU closed its side (guest destroyed)
      std::this_thread::sleep_for(100ms);
      continue;
    }
    std::lock_guard lock(mu_);
    text_.append(buf, static_cast<std::size_t>(n));
    file_.write(buf, n);
    file_.flush();
  }
}

std::string Console::log() const {
  std::lock_guard lock(mu_);
  return text_;
}

std::string Console::wait_for(std::string_view marker, std::chrono::milliseconds timeout,
                              std::size_t from) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto text = log();
    if (text.size() > from && text.find(marker, from) != std::string::npos) return text;
    if (std::chrono::steady_clock::now() > deadline) {
      const auto tail = text.size() > 3000 ? text.substr(text.size() - 3000) : text;
      throw Error(ErrorCode::Io, "console " + log_path_.string() + ": no '" + std::string(marker) +
                                     "' within " + std::to_string(timeout.count()) +
                                     " ms; last output:\n" + tail);
    }
    std::this_thread::sleep_for(50ms);
  }
}

void Console::send(std::string_view line) {
  std::string s(line);
  s += "\n";
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd_, s.data() + done, s.size() - done);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    if (n < 0) throw Error(ErrorCode::Io, std::string("console write: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

namespace {

void flatten(const nlohmann::json& v, const std::string& path,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_object()) {
    for (const auto& [n, child] : v.items()) flatten(child, path.empty() ? n : path + "." + n, out);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      flatten(v[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out.emplace_back(path, v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump());
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> flatten_json(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  try {
    flatten(nlohmann::json::parse(json), "", out);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::InvalidArgument, std::string("not JSON (") + e.what() + "):\n" + json);
  }
  return out;
}

}  // namespace cloudtwin::e2e
