#include "cloudtwin/vpn/management.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

using namespace std::chrono_literals;

// A one-connection stand-in for OpenVPN's management interface: greets like OpenVPN,
// records each command line, answers `status 2` with `status` (nothing if empty) and
// `client-kill N` with SUCCESS, and closes on `quit` or when the client hangs up.
class FakeManagement {
 public:
  FakeManagement(std::string path, std::string status, bool listen_at_all = true)
      : status_(std::move(status)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (!listen_at_all) return;  // a stale socket file: connect() is refused
    ::listen(fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  FakeManagement(const FakeManagement&) = delete;
  FakeManagement& operator=(const FakeManagement&) = delete;
  ~FakeManagement() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::vector<std::string> received() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

 private:
  static void say(int conn, const std::string& text) {
    ::send(conn, text.data(), text.size(), MSG_NOSIGNAL);
  }
  void serve() {
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    say(conn, ">INFO:OpenVPN Management Interface Version 5\r\n");
    std::string line;
    char ch = 0;
    while (::read(conn, &ch, 1) == 1) {
      if (ch != '\n') {
        line += ch;
        continue;
      }
      received_.push_back(line);
      if (line == "quit") break;
      if (line == "status 2" && !status_.empty()) say(conn, status_);
      if (line.rfind("client-kill ", 0) == 0) {
        say(conn, ">CLIENT:DISCONNECT,3\r\nSUCCESS: client-kill command succeeded\r\n");
      }
      line.clear();
    }
    ::close(conn);
  }

  std::string status_;
  int fd_ = -1;
  std::vector<std::string> received_;
  std::thread thread_;
};

const char* const kStatus =
    "TITLE,OpenVPN 2.6.14\r\n"
    "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,"
    "Bytes Received,Bytes Sent,Connected Since,Connected Since (time_t),Username,Client ID,"
    "Peer ID,Data Channel Cipher\r\n"
    "CLIENT_LIST,i-0def,198.51.100.3:1,,,1,2,x,1782937218,UNDEF,2,0,AES-256-GCM\r\n"
    "CLIENT_LIST,i-0abc,198.51.100.2:1,,,1,2,x,1782937218,UNDEF,3,1,AES-256-GCM\r\n"
    "END\r\n";

TEST(Management, KillOutcomes) {
  test::TempDir dir;
  const auto sock = dir.path() + "/m.sock";
  EXPECT_EQ(kill_client(sock, "i-0abc"), KillOutcome::NoServer);
  {
    FakeManagement server(sock, kStatus);
    EXPECT_EQ(kill_client(sock, "i-0abc"), KillOutcome::Killed);
    EXPECT_EQ(server.received(), (std::vector<std::string>{"status 2", "client-kill 3", "quit"}));
  }
  ::unlink(sock.c_str());
  {
    FakeManagement server(sock, kStatus);
    EXPECT_EQ(kill_client(sock, "i-0xyz"), KillOutcome::NotConnected);
    EXPECT_EQ(server.received(), (std::vector<std::string>{"status 2", "quit"}));
  }
  ::unlink(sock.c_str());
  {
    FakeManagement stale(sock, "", false);
    EXPECT_EQ(kill_client(sock, "i-0abc"), KillOutcome::NoServer);
  }
}

TEST(Management, BadAnswersThrow) {
  test::TempDir dir;
  const auto sock = dir.path() + "/m.sock";
  const std::pair<const char*, const char*> cases[] = {
      {"ERROR: unknown command\r\n", "status 2 answered 'ERROR: unknown command'"},
      {"", "no answer within the timeout"},
  };
  for (const auto& [status, message] : cases) {
    ::unlink(sock.c_str());
    FakeManagement server(sock, status);
    try {
      kill_client(sock, "i-0abc", 300ms);
      ADD_FAILURE() << "no error for " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(sock), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace cloudtwin::vpn
