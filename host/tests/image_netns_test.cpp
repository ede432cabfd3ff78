// `cloudtwin image import` against real servers on loopback, in a network namespace of the
// test's own (unshare: nothing leaves it): nginx over HTTP and HTTPS with a test CA
// (verification failure, redirects, 404, a connection cut mid-body and resumed, a wrong
// --sha256, an interrupted import), and s3rver for s3:// (signed GETs, an unknown access key, a
// missing key, resume through the same cutting proxy). Label netns: needs root.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "cloudtwin/host/cli.hpp"
#include "cloudtwin/vm/spawn.hpp"
#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;
using testing::have;
using testing::sh;

constexpr int kHttp = 8080;
constexpr int kHttps = 8443;
constexpr int kSlow = 8082;
constexpr int kS3 = 4568;
constexpr std::size_t kImageSize = 8 << 20;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A TCP proxy on loopback whose first connection is cut after `cut_after` bytes of the
// answer; later connections pass everything. Counts connections.
class CuttingProxy {
 public:
  CuttingProxy(int listen_port, int target_port, std::size_t cut_after)
      : target_(target_port), cut_after_(cut_after) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(listen_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 8) == 0;
    if (ok_) thread_ = std::thread([this] { serve(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return ok_; }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      const bool cut = connections_.fetch_add(1) == 0;
      const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(target_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        ::close(s);
        continue;
      }
      std::thread up([c, s] { pump(c, s, SIZE_MAX); });
      pump(s, c, cut ? cut_after_ : SIZE_MAX);
      ::shutdown(c, SHUT_RDWR);
      ::shutdown(s, SHUT_RDWR);
      up.join();
      ::close(c);
      ::close(s);
    }
  }
  static void pump(int from, int to, std::size_t limit) {
    std::vector<char> buf(65536);
    std::size_t total = 0;
    while (total < limit) {
      const auto n = ::read(from, buf.data(), std::min(buf.size(), limit - total));
      if (n <= 0) break;
      if (::write(to, buf.data(), static_cast<std::size_t>(n)) != n) break;
      total += static_cast<std::size_t>(n);
    }
    ::shutdown(to, SHUT_WR);
  }
  int fd_ = -1;
  int target_;
  std::size_t cut_after_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class ImageImportNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
    for (const auto* tool : {"nginx", "qemu-img", "openssl", "ip"}) {
      if (!have(tool)) GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh)";
    }
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET)";
    ASSERT_EQ(vm::run_logged({"ip", "link", "set", "lo", "up"}), 0);
    dir_ = fs::path(tmp_.path);
    for (const auto* d : {"www", "images", "instances", "nginx"}) fs::create_directories(dir_ / d);
    make_image();
    make_certificates();
    write_file(dir_ / "host.conf", "[libvirt]\nuri = test:///default\n[storage]\nimages = " +
                                       (dir_ / "images").string() +
                                       "\ninstances = " + (dir_ / "instances").string() + "\n");
    env_ = default_cli_env();
    env_.config_path = (dir_ / "host.conf").string();
  }

  void TearDown() override {
    for (const auto pid : daemons_) {
      ::kill(pid, SIGTERM);
      vm::wait_for(pid);
    }
  }

  // 8 MiB raw: random data in some places, zeros elsewhere (as a disk image is).
  void make_image() {
    std::string img(kImageSize, '\0');
    std::mt19937 rng(12);
    for (std::size_t off : {std::size_t{0}, std::size_t{3} << 20, kImageSize - 65536}) {
      for (std::size_t i = 0; i < 65536 * 4 && off + i < img.size(); ++i)
        img[off + i] = static_cast<char>(rng());
    }
    write_file(dir_ / "www" / "disk.raw", img);
    raw_sha_ = sh("sha256sum " + (dir_ / "www" / "disk.raw").string() + " | cut -c1-64");
    raw_sha_.resize(64);
    ASSERT_EQ(vm::run_logged({"qemu-img", "convert", "-f", "raw", "-O", "qcow2",
                              (dir_ / "www" / "disk.raw").string(),
                              (dir_ / "www" / "disk.qcow2").string()}),
              0);
  }

  void make_certificates() {
    const auto d = dir_.string();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 ";
    ASSERT_EQ(std::system(("openssl req -x509 " + ec + "-keyout " + d + "/ca.key -out " + d +
                           "/ca.pem -subj /CN=cloudtwin-test-ca 2>/dev/null")
                              .c_str()),
              0);
    ASSERT_EQ(std::system(("openssl req -x509 " + ec + "-keyout " + d + "/srv.key -out " + d +
                           "/srv.pem -subj /CN=localhost -addext "
                           "subjectAltName=IP:127.0.0.1,DNS:localhost -CA " +
                           d + "/ca.pem -CAkey " + d + "/ca.key 2>/dev/null")
                              .c_str()),
              0);
  }

  void start_nginx() {
    const auto d = dir_.string();
    const auto www = (dir_ / "www").string();
    write_file(dir_ / "nginx.conf",
               "daemon off;\nmaster_process off;\nerror_log " + d + "/nginx/error.log;\npid " + d +
                   "/nginx/pid;\nevents { worker_connections 64; }\nhttp {\n"
                   "  log_format r '$status $request_method $uri range=$http_range';\n"
                   "  access_log " +
                   d +
                   "/nginx/access.log r;\n"
                   "  client_body_temp_path " +
                   d + "/nginx; proxy_temp_path " + d +
                   "/nginx;\n"
                   "  fastcgi_temp_path " +
                   d + "/nginx; uwsgi_temp_path " + d +
                   "/nginx;\n"
                   "  scgi_temp_path " +
                   d +
                   "/nginx;\n"
                   "  types { application/octet-stream raw qcow2; }\n"
                   "  server {\n    listen 127.0.0.1:" +
                   std::to_string(kHttp) +
                   ";\n"
                   "    listen 127.0.0.1:" +
                   std::to_string(kHttps) +
                   " ssl;\n"
                   "    ssl_certificate " +
                   d + "/srv.pem;\n    ssl_certificate_key " + d + "/srv.key;\n    root " + www +
                   ";\n"
                   "    location = /moved.raw { return 302 /disk.raw; }\n"
                   "    location = /hop.raw { return 301 /moved.raw; }\n"
                   "    location = /loop.raw { return 302 /loop.raw; }\n"
                   "    location = /to-http.raw { return 302 http://127.0.0.1:" +
                   std::to_string(kHttp) +
                   "/disk.raw; }\n  }\n"
                   "  server {\n    listen 127.0.0.1:" +
                   std::to_string(kSlow) + ";\n    root " + www +
                   ";\n    limit_rate 1m;\n  }\n}\n");
    const auto pid = vm::spawn_logged(
        {"nginx", "-p", d + "/nginx", "-e", d + "/nginx/error.log", "-c", d + "/nginx.conf"},
        d + "/nginx/out.log");
    ASSERT_GT(pid, 0);
    daemons_.push_back(pid);
    ASSERT_TRUE(vm::wait_until([] { return port_open(kHttp) && port_open(kHttps); },
                               std::chrono::seconds(10)))
        << read_file(dir_ / "nginx" / "error.log");
  }

  int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    std::ostringstream o, e;
    const int rc = run_cli(args, o, e, env_);
    if (out != nullptr) *out = o.str();
    if (err != nullptr) *err = e.str();
    return rc;
  }

  // What is in the images directory, dot files included.
  std::vector<std::string> images() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "images"))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  // The stored image holds the same disk as the source.
  void expect_same_disk(const std::string& name) {
    EXPECT_EQ(
        vm::run_logged({"qemu-img", "compare", "-f", "raw", "-F", "qcow2",
                        (dir_ / "www" / "disk.raw").string(), (dir_ / "images" / name).string()}),
        0);
    const auto info = sh("qemu-img info --output=json " + (dir_ / "images" / name).string());
    EXPECT_NE(info.find("\"format\": \"qcow2\""), std::string::npos) << info;
  }

  std::string http(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(kHttp) + path;
  }
  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(kHttps) + path;
  }
  std::string ca() const { return (dir_ / "ca.pem").string(); }

  testing::TempDir tmp_;
  fs::path dir_;
  std::string raw_sha_;
  CliEnv env_;
  std::vector<pid_t> daemons_;
};

TEST_F(ImageImportNetns, HttpRawListShowDelete) {
  start_nginx();
  std::string out, err;
  ASSERT_EQ(run({"image", "import", "deb", http("/disk.raw"), "--sha256", raw_sha_}, &out, &err), 0)
      << err;
  EXPECT_EQ(out, "imported image deb (8.0 MiB, qcow2 from raw) from " + http("/disk.raw") +
                     "\nsha256 " + raw_sha_ + "\n");
  EXPECT_EQ(images(), (std::vector<std::string>{".deb.json", "deb"}));
  expect_same_disk("deb");
  // Not a terminal: plain progress lines, the last at 100 %, then the conversion.
  EXPECT_NE(err.find("fetching: 8.0 MiB / 8.0 MiB (100%)"), std::string::npos) << err;
  EXPECT_NE(err.find("converting to qcow2: 100%"), std::string::npos) << err;

  ASSERT_EQ(run({"image", "show", "deb", "--json"}, &out, &err), 0) << err;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("sha256"), raw_sha_);
  EXPECT_EQ(j.at("origin"), http("/disk.raw"));
  EXPECT_EQ(j.at("source-format"), "raw");
  EXPECT_EQ(j.at("source-size"), kImageSize);
  EXPECT_EQ(j.at("virtual-size"), kImageSize);
  EXPECT_EQ(j.at("format"), "qcow2");
  ASSERT_EQ(run({"image", "list", "--json"}, &out, &err), 0) << err;
  const auto list = nlohmann::json::parse(out);
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].at("name"), "deb");
  EXPECT_EQ(list[0].at("sha256"), raw_sha_);
  ASSERT_EQ(run({"image", "show", "deb"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("origin:"), std::string::npos) << out;

  ASSERT_EQ(run({"image", "delete", "deb"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "deleted image deb\n");
  EXPECT_TRUE(images().empty());
}

TEST_F(ImageImportNetns, HttpsWithTestCaQcow2AndRedirects) {
  start_nginx();
  std::string out, err;
  ASSERT_EQ(
      run({"image", "import", "q", https("/disk.qcow2"), "--ca-file", ca(), "--json"}, &out, &err),
      0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out).at("source-format"), "qcow2");
  expect_same_disk("q");
  // Two hops (301 then 302); the record keeps the URL the user gave.
  ASSERT_EQ(
      run({"image", "import", "r", https("/hop.raw?token=secret"), "--ca-file", ca(), "--json"},
          &out, &err),
      0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out).at("origin"), https("/hop.raw?..."));
  expect_same_disk("r");
  EXPECT_EQ(images(), (std::vector<std::string>{".q.json", ".r.json", "q", "r"}));
}

TEST_F(ImageImportNetns, RefusalsLeaveNothing) {
  start_nginx();
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"x", https("/disk.raw")},
       "cloudtwin: GET " + https("/disk.raw") +
           ": TLS handshake with 127.0.0.1 failed: certificate verify failed (the "
           "server certificate is verified; --ca-file FILE adds a private CA)\n"},
      {{"x", http("/disk.raw"), "--sha256", std::string(64, '0')},
       "cloudtwin: " + http("/disk.raw") + ": SHA-256 mismatch: expected " + std::string(64, '0') +
           ", got " + raw_sha_ + " (8388608 bytes); nothing was imported\n"},
      {{"x", http("/nope.raw")},
       "cloudtwin: GET " + http("/nope.raw") + ": HTTP 404 Not Found (check the URL)\n"},
      {{"x", https("/to-http.raw"), "--ca-file", ca()},
       "cloudtwin: GET " + https("/to-http.raw") + ": redirected to " + http("/disk.raw") +
           ", from https to http: refused\n"},
      {{"x", http("/loop.raw")},
       "cloudtwin: GET " + http("/loop.raw") + ": more than 5 redirects\n"},
      {{"x", "http://127.0.0.1:1/disk.raw"}, ""},  // nothing listens: retried, then refused
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"image", "import"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string err;
    EXPECT_EQ(run(args, nullptr, &err), 1) << c.args[1];
    if (!c.error.empty()) {
      EXPECT_EQ(err.substr(err.find("cloudtwin: ")), c.error);
    } else {
      EXPECT_NE(err.find("cannot connect: Connection refused (gave up after 6 attempts)"),
                std::string::npos)
          << err;
    }
    EXPECT_TRUE(images().empty()) << c.args[1];
  }
}

TEST_F(ImageImportNetns, ConnectionCutMidBodyIsResumedWithRange) {
  start_nginx();
  CuttingProxy proxy(8081, kHttp, 3 << 20);
  ASSERT_TRUE(proxy.ok());
  std::string out, err;
  ASSERT_EQ(run({"image", "import", "cut", "http://127.0.0.1:8081/disk.raw", "--sha256", raw_sha_},
                &out, &err),
            0)
      << err;
  EXPECT_EQ(proxy.connections(), 2);
  expect_same_disk("cut");
  const auto log = read_file(dir_ / "nginx" / "access.log");
  EXPECT_NE(log.find("200 GET /disk.raw range=-"), std::string::npos) << log;
  EXPECT_NE(log.find("206 GET /disk.raw range=bytes="), std::string::npos) << log;
}

// SIGINT during the transfer: the real binary exits 1 and leaves no file behind.
TEST_F(ImageImportNetns, InterruptedImportLeavesNothing) {
  start_nginx();
  const auto log = (dir_ / "cli.log").string();
  const auto pid = vm::spawn_logged(
      {CLOUDTWIN_BINARY, "--config", (dir_ / "host.conf").string(), "image", "import", "slow",
       "http://127.0.0.1:" + std::to_string(kSlow) + "/disk.raw"},
      log);
  ASSERT_GT(pid, 0);
  // The slow server (1 MiB/s) has sent something: the hidden download file exists.
  ASSERT_TRUE(vm::wait_until([&] { return !images().empty(); }, std::chrono::seconds(10)));
  ::kill(pid, SIGINT);
  EXPECT_EQ(vm::wait_for(pid), 1);
  EXPECT_TRUE(images().empty());
  EXPECT_NE(read_file(log).find("interrupted"), std::string::npos) << read_file(log);
}

class S3ImportNetns : public ImageImportNetns {
 protected:
  void SetUp() override {
    ImageImportNetns::SetUp();
    if (IsSkipped()) return;
    for (const auto* tool : {"s3rver", "aws"}) {
      if (!have(tool)) GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh)";
    }
    const auto d = dir_.string();
    fs::create_directories(dir_ / "s3");
    // s3rver's default account; loopback only, in this namespace.
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    ::setenv("AWS_CONFIG_FILE", (d + "/none").c_str(), 1);
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", (d + "/none").c_str(), 1);
    const auto pid = vm::spawn_logged({"s3rver", "-d", d + "/s3", "-a", "127.0.0.1", "-p",
                                       std::to_string(kS3), "--configure-bucket", "img-bucket"},
                                      d + "/s3rver.log");
    ASSERT_GT(pid, 0);
    daemons_.push_back(pid);
    ASSERT_TRUE(vm::wait_until([] { return port_open(kS3); }, std::chrono::seconds(20)))
        << read_file(dir_ / "s3rver.log");
    // Uploaded by a client nobody here wrote.
    ASSERT_EQ(
        vm::run_logged({"aws", "--endpoint-url", endpoint(), "s3", "cp",
                        (dir_ / "www" / "disk.raw").string(), "s3://img-bucket/images/web v1.raw"},
                       d + "/aws.log"),
        0)
        << read_file(dir_ / "aws.log");
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(kS3); }
};

TEST_F(S3ImportNetns, SignedGetThenErrors) {
  std::string out, err;
  ASSERT_EQ(run({"image", "import", "web", "s3://img-bucket/images/web v1.raw", "--endpoint",
                 endpoint(), "--sha256", raw_sha_, "--json"},
                &out, &err),
            0)
      << err;
  EXPECT_EQ(nlohmann::json::parse(out).at("origin"), "s3://img-bucket/images/web v1.raw");
  expect_same_disk("web");

  // s3rver 3.7.1 checks the access key id but not SigV4 signatures themselves
  // (S3Sign.GetObjectEqualsBotocore in aws_test checks those against botocore).
  struct Case {
    std::string key, access_key, error;
  };
  const std::vector<Case> cases = {
      {"images/none.raw", "S3RVER",
       "S3 GET s3://img-bucket/images/none.raw: HTTP 404: NoSuchKey: The specified key does not "
       "exist."},
      {"images/web v1.raw", "NOSUCHKEY",
       "S3 GET s3://img-bucket/images/web v1.raw: HTTP 403: InvalidAccessKeyId: The AWS Access "
       "Key Id you provided does not exist in our records.; check the credentials"},
  };
  for (const auto& c : cases) {
    ::setenv("AWS_ACCESS_KEY_ID", c.access_key.c_str(), 1);
    EXPECT_EQ(run({"image", "import", "x", "s3://img-bucket/" + c.key, "--endpoint", endpoint()},
                  &out, &err),
              1);
    EXPECT_NE(err.find(c.error), std::string::npos) << err;
    EXPECT_EQ(images(), (std::vector<std::string>{".web.json", "web"}));
  }
}

TEST_F(S3ImportNetns, CutTransferIsResumedWithASignedRange) {
  CuttingProxy proxy(8083, kS3, 2 << 20);
  ASSERT_TRUE(proxy.ok());
  std::string out, err;
  ASSERT_EQ(run({"image", "import", "web", "s3://img-bucket/images/web v1.raw", "--endpoint",
                 "http://127.0.0.1:8083", "--sha256", raw_sha_},
                &out, &err),
            0)
      << err;
  EXPECT_EQ(proxy.connections(), 2);
  expect_same_disk("web");
}

}  // namespace
}  // namespace cloudtwin::host
