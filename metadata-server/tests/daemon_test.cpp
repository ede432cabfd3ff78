// The real cloudtwin-metadata binary on loopback, as an operator and an attacker meet it:
// signals (logrotate's HUP, stray USR1/USR2/...), restarts with notices posted, and a
// flood of connections past its file-descriptor limit.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cloudtwin/metadata/cli.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ct-daemon-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// One HTTP/1.0 exchange from `source`; "" when nothing came back within `timeout`.
std::string http(std::uint16_t port, const std::string& request,
                 const std::string& source = "127.0.0.1",
                 std::chrono::milliseconds timeout = 3000ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, std::size_t(n));
  }
  ::close(fd);
  return out;
}

std::string get(std::uint16_t port, const std::string& path, const std::string& token = "") {
  return http(port, "GET " + path + " HTTP/1.0\r\n" +
                        (token.empty() ? "" : "X-aws-ec2-metadata-token: " + token + "\r\n") +
                        "\r\n");
}

std::string body(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

int status(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

// cloudtwin-metadata serving DIR/records on 127.0.0.1:<any port>, logging to DIR/log.
class Daemon {
 public:
  Daemon(const fs::path& dir, rlim_t nofile = 0) : dir_(dir) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    const auto log = (dir / "log").string();
    const std::vector<std::string> args = {CLOUDTWIN_METADATA_BINARY,
                                           "--config",
                                           (dir / "metadata.conf").string(),
                                           "--records",
                                           (dir / "records").string(),
                                           "--listen",
                                           "127.0.0.1:0",
                                           "--ctl-socket",
                                           (dir / "ctl.sock").string(),
                                           "--identity-key",
                                           (dir / "id.key").string(),
                                           "--identity-cert",
                                           (dir / "id.crt").string()};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(err, 2);
      if (nofile > 0) {
        const rlimit lim{nofile, nofile};
        ::setrlimit(RLIMIT_NOFILE, &lim);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    // "listening on 127.0.0.1:PORT\n"
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) > 0) {
      char c[256];
      const auto n = ::read(out[0], c, sizeof c);
      if (n <= 0) break;
      line.append(c, std::size_t(n));
    }
    ::close(out[0]);
    const auto colon = line.rfind(':');
    if (line.starts_with("listening on ") && colon != std::string::npos)
      port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  }
  ~Daemon() {
    if (alive()) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool alive() {
    if (pid_ <= 0 || exited_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = st;
      return false;
    }
    return true;
  }
  int wait() {
    if (!exited_ && pid_ > 0) {
      ::waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    return status_;
  }
  std::string log() const { return testing::read_text((dir_ / "log").string()); }
  // CPU seconds (user + system) the daemon has used so far.
  double cpu_seconds() const {
    const auto text = testing::read_text("/proc/" + std::to_string(pid_) + "/stat");
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i >= 14) ticks += std::stod(f);
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  int ctl(const std::vector<std::string>& words, std::string* reply = nullptr) {
    std::vector<std::string> args = {"ctl", "--socket", (dir_ / "ctl.sock").string()};
    args.insert(args.end(), words.begin(), words.end());
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err);
    if (reply) *reply = out.str() + err.str();
    return rc;
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool exited_ = false;
  int status_ = 0;
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir.path() / "records");
    fs::create_directories(dir.path() / "state");
    write_text(dir.path() / "records/web.json",
               R"({"instance-id":"i-web","serve-to":["127.0.0.1"],"user-data":"hi"})");
    config("");
  }
  void config(const std::string& extra) {
    write_text(dir.path() / "metadata.conf", "[server]\nneighbor_check = false\nstate_dir = " +
                                                 (dir.path() / "state").string() + "\n" + extra);
  }
  TempDir dir;
};

std::string token(std::uint16_t port) {
  return body(http(port,
                   "PUT /latest/api/token HTTP/1.0\r\n"
                   "X-aws-ec2-metadata-token-ttl-seconds: 600\r\n\r\n"));
}

// HUP reloads and keeps every token; no other catchable signal ends the daemon.
TEST_F(DaemonTest, HangupReloadsKeepsTokensAndStraySignalsDoNotKill) {
  Daemon d(dir.path());
  ASSERT_NE(d.port(), 0) << d.log();
  const auto t = token(d.port());
  ASSERT_FALSE(t.empty()) << d.log();
  ASSERT_EQ(body(get(d.port(), "/latest/meta-data/instance-id", t)), "i-web");
  const std::vector<int> signals = {SIGHUP,    SIGUSR1,  SIGUSR2,      SIGALRM,  SIGVTALRM,
                                    SIGPROF,   SIGPOLL,  SIGPWR,       SIGXCPU,  SIGXFSZ,
                                    SIGSTKFLT, SIGPIPE,  SIGURG,       SIGWINCH, SIGCHLD,
                                    SIGTRAP,   SIGRTMIN, SIGRTMIN + 5, SIGRTMAX, SIGHUP};
  for (const int s : signals) {
    ASSERT_EQ(::kill(d.pid(), s), 0);
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(d.alive()) << "signal " << s << " (" << strsignal(s) << ") ended it: status "
                           << d.wait() << "\n"
                           << d.log();
    EXPECT_EQ(body(get(d.port(), "/latest/meta-data/instance-id", t)), "i-web")
        << "after signal " << s << ": the token must survive";
  }
  EXPECT_NE(d.log().find("SIGHUP: reloaded"), std::string::npos) << d.log();
  EXPECT_TRUE(fs::exists(dir.path() / "ctl.sock"));
}

// HUP re-reads the configuration (access_log switched on) and reopens the log file that
// logrotate moved away.
TEST_F(DaemonTest, HangupReopensTheLogFileAndAppliesTheConfig) {
  const auto file = dir.path() / "metadata.log";
  config("log_file = " + file.string() + "\n");
  Daemon d(dir.path());
  ASSERT_NE(d.port(), 0) << d.log();
  ASSERT_EQ(status(get(d.port(), "/latest/meta-data/instance-id")), 200);
  fs::rename(file, dir.path() / "metadata.log.1");  // logrotate
  config("log_file = " + file.string() + "\naccess_log = true\n");
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  for (int i = 0; i < 50 && !fs::exists(file); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(fs::exists(file)) << d.log();
  ASSERT_EQ(status(get(d.port(), "/latest/meta-data/instance-id")), 200);
  std::this_thread::sleep_for(50ms);
  const auto text = testing::read_text(file.string());
  EXPECT_NE(text.find("SIGHUP: reloaded"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1 GET /latest/meta-data/instance-id 200"), std::string::npos)
      << text;
  EXPECT_EQ(testing::read_text((dir.path() / "metadata.log.1").string()).find("GET"),
            std::string::npos);
}

// Notices set through ctl are on disk (0600) at once and served again after a restart,
// even one without a clean shutdown.
TEST_F(DaemonTest, NoticesSurviveARestart) {
  std::string reply;
  {
    Daemon d(dir.path());
    ASSERT_NE(d.port(), 0) << d.log();
    ASSERT_EQ(d.ctl({"spot", "web", "terminate", "--in", "600"}, &reply), 0) << reply;
    ASSERT_EQ(d.ctl({"event", "web", "maintenance", "system-reboot"}, &reply), 0) << reply;
    ASSERT_EQ(d.ctl({"rebalance", "web"}, &reply), 0) << reply;
    ::kill(d.pid(), SIGKILL);
  }
  const auto file = dir.path() / "state/notices.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0) << "notices are not kept on disk";
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Daemon again(dir.path());
  ASSERT_NE(again.port(), 0) << again.log();
  const auto action = body(get(again.port(), "/latest/meta-data/spot/instance-action"));
  EXPECT_NE(action.find(R"("action": "terminate")"), std::string::npos) << action;
  EXPECT_NE(body(get(again.port(), "/latest/meta-data/events/maintenance/scheduled"))
                .find("instance-event-00000000000000001"),
            std::string::npos);
  EXPECT_EQ(status(get(again.port(), "/latest/meta-data/events/recommendations/rebalance")), 200);
  // Event ids go on from where they were, never reused.
  ASSERT_EQ(again.ctl({"event", "web", "maintenance", "system-reboot"}, &reply), 0) << reply;
  EXPECT_NE(reply.find("instance-event-00000000000000002"), std::string::npos) << reply;
  ASSERT_EQ(again.ctl({"clear", "web"}, &reply), 0) << reply;
  ::kill(again.pid(), SIGKILL);
  again.wait();
  Daemon third(dir.path());
  EXPECT_EQ(status(get(third.port(), "/latest/meta-data/spot/instance-action")), 404);
}

// Connections held open from ten addresses, past the daemon's descriptor limit.
// Returns how many connect() calls succeeded; the sockets stay in `held`.
int flood(std::uint16_t port, int count, std::vector<int>& held) {
  int ok = 0;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    held.push_back(fd);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002 + static_cast<std::uint32_t>(i % 10));  // 127.0.0.2-11
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) continue;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0 || errno == EINPROGRESS)
      ++ok;
  }
  return ok;
}

struct FloodCase {
  const char* name;
  const char* limits;  // [limits] lines
  bool known_caller_answered;
};

class FloodTest : public DaemonTest, public ::testing::WithParamInterface<FloodCase> {};

TEST_P(FloodTest, OutOfDescriptorsNoSpinNoLogFloodAndAnswersAgain) {
  const auto& c = GetParam();
  config(std::string("[limits]\n") + c.limits);
  rlimit mine{};
  ::getrlimit(RLIMIT_NOFILE, &mine);
  if (mine.rlim_cur < 1024) GTEST_SKIP() << "the test needs 1024 descriptors of its own";
  Daemon d(dir.path(), 128);
  ASSERT_NE(d.port(), 0) << d.log();
  std::vector<int> held;
  const double cpu0 = d.cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_GT(flood(d.port(), 400, held), 128);
  std::this_thread::sleep_for(1500ms);
  const auto answer = get(d.port(), "/latest/meta-data/instance-id");
  if (c.known_caller_answered) {
    EXPECT_EQ(body(answer), "i-web") << d.log().substr(0, 2000);
  }
  std::this_thread::sleep_for(1000ms);
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  const double cpu = d.cpu_seconds() - cpu0;
  EXPECT_LT(cpu, 0.1 * wall.count()) << "CPU seconds " << cpu << " in " << wall.count() << " s";
  const auto log = d.log();
  EXPECT_LT(log.size(), 16u * 1024) << log.substr(0, 2000);
  EXPECT_TRUE(d.alive());
  for (const int fd : held) ::close(fd);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(body(get(d.port(), "/latest/meta-data/instance-id")), "i-web")
      << d.log().substr(0, 2000);
}

INSTANTIATE_TEST_SUITE_P(
    Limits, FloodTest,
    ::testing::Values(
        // Defaults: the global cap (from the descriptor limit) and the share unknown
        // callers may hold leave room for the VMs in the records.
        FloodCase{"defaults", "", true},
        // A cap above the descriptor limit: accept() meets EMFILE; the loop backs off
        // and sheds through its reserve descriptor instead of spinning.
        FloodCase{"cap_above_rlimit", "connections = 100000\nconnections_per_vm = 0\n", false}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace cloudtwin::metadata
