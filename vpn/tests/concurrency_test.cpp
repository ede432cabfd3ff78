// Concurrent `vpn init|issue|revoke` on one state dir: the FileLock serialises them, so
// index.txt stays well-formed, no address goes to two VMs, and the CRL lists exactly the
// revoked serials. Threads and processes both: flock conflicts between open file
// descriptions, which each lock has its own of, in one process or many.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/service.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

using core::Ipv4;
using namespace std::chrono_literals;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

InitOptions options(const std::string& dir) {
  InitOptions o;
  o.state_dir = dir;
  o.network = core::Ipv4Cidr::parse("10.20.0.0/24");
  o.gateway = Ipv4::parse("10.20.0.1");
  o.bridge = "br0";
  o.remote_host = "198.51.100.1";
  o.check_port = false;  // not what these tests are about
  o.now = now();
  return o;
}

// Runs fn(0..n-1) on n threads released together, so they really overlap.
void run_together(int n, const std::function<void(int)>& fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();
      fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

Ipv4 host(unsigned last) { return Ipv4::from_u32((10U << 24) | (20U << 16) | last); }

// The index parses, lists each VM's issued certificate once, and no address twice.
std::vector<IndexEntry> check_index(const std::string& dir) {
  const auto index = parse_index(read_file(dir + "/index.txt"), dir + "/index.txt");
  std::set<std::string> issued_vms, issued_ips, serials;
  for (const auto& e : index) {
    EXPECT_TRUE(serials.insert(e.serial_hex).second) << "serial twice: " << e.serial_hex;
    if (e.state != CertState::Issued) continue;
    EXPECT_TRUE(issued_vms.insert(e.vm_id).second) << "VM twice: " << e.vm_id;
    EXPECT_TRUE(issued_ips.insert(e.ip.to_string()).second)
        << "address twice: " << e.ip.to_string();
    EXPECT_EQ(read_file(dir + "/ccd/" + e.vm_id), render_ccd(e.ip, Ipv4::parse("255.255.255.0")));
    EXPECT_TRUE(file_exists(dir + "/clients/" + e.vm_id + ".ovpn")) << e.vm_id;
  }
  return index;
}

TEST(VpnConcurrency, ManyIssuesRacingForAddresses) {
  test::TempDir tmp;
  const auto dir = tmp.path() + "/vpn";
  ASSERT_EQ(init(options(dir)), Outcome::Changed);

  // 24 VMs race for 12 addresses, two for each.
  constexpr int kThreads = 24;
  std::vector<std::string> results(kThreads);
  run_together(kThreads, [&](int i) {
    const auto vm = "vm-" + std::to_string(i);
    try {
      issue(dir, vm, host(10U + static_cast<unsigned>(i % 12)), now());
      results[static_cast<std::size_t>(i)] = "ok";
    } catch (const Error& e) {
      results[static_cast<std::size_t>(i)] = e.what();
    }
  });
  int ok = 0;
  for (const auto& r : results) {
    if (r == "ok") {
      ++ok;
    } else {
      EXPECT_NE(r.find("is already VM vm-"), std::string::npos) << r;
    }
  }
  EXPECT_EQ(ok, 12);
  const auto index = check_index(dir);
  EXPECT_EQ(index.size(), 12U);
  // No temp files left behind by the atomic writes.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

TEST(VpnConcurrency, SameVmFromManyThreadsIsIssuedOnce) {
  test::TempDir tmp;
  const auto dir = tmp.path() + "/vpn";
  ASSERT_EQ(init(options(dir)), Outcome::Changed);
  std::atomic<int> changed{0}, unchanged{0}, failed{0};
  run_together(12, [&](int) {
    try {
      const auto r = issue(dir, "vm-same", host(30), now());
      ++(r.outcome == Outcome::Changed ? changed : unchanged);
    } catch (const Error&) {
      ++failed;
    }
  });
  EXPECT_EQ(changed.load(), 1);
  EXPECT_EQ(unchanged.load(), 11);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(check_index(dir).size(), 1U);
}

TEST(VpnConcurrency, IssuesAndRevokesInterleaved) {
  test::TempDir tmp;
  const auto dir = tmp.path() + "/vpn";
  ASSERT_EQ(init(options(dir)), Outcome::Changed);
  for (unsigned i = 0; i < 10; ++i) issue(dir, "old-" + std::to_string(i), host(10 + i), now());
  std::map<std::string, std::string> certs;
  for (unsigned i = 0; i < 10; ++i) {
    const auto vm = "old-" + std::to_string(i);
    certs[vm] = test::inline_block(read_file(dir + "/clients/" + vm + ".ovpn"), "cert");
  }

  // Ten revokes and ten issues at once; the new VMs take the revoked VMs' addresses too,
  // so an issue succeeds only after its revoke (else: "already VM old-N's").
  std::vector<std::string> errors(20);
  run_together(20, [&](int i) {
    const auto n = static_cast<unsigned>(i / 2);
    try {
      if (i % 2 == 0) {
        revoke(dir, "old-" + std::to_string(n), now());
      } else {
        issue(dir, "new-" + std::to_string(n), host(10 + n), now());
      }
    } catch (const Error& e) {
      errors[static_cast<std::size_t>(i)] = e.what();
    }
  });
  int issued_new = 0;
  for (int i = 0; i < 20; ++i) {
    const auto& e = errors[static_cast<std::size_t>(i)];
    if (i % 2 == 0) {
      EXPECT_EQ(e, "") << "revoke " << i / 2;
    } else if (e.empty()) {
      ++issued_new;
    } else {
      EXPECT_NE(e.find("is already VM old-"), std::string::npos) << e;
    }
  }
  const auto index = check_index(dir);
  EXPECT_EQ(index.size(), 10U + static_cast<std::size_t>(issued_new));
  // The CRL on disk is the last one written: it must revoke every old certificate.
  const auto ca = read_file(dir + "/ca.crt");
  const auto crl = read_file(dir + "/crl.pem");
  for (const auto& [vm, cert] : certs) {
    EXPECT_EQ(test::verify(ca, cert, crl, X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_REVOKED) << vm;
  }
  for (const auto& e : index) {
    if (e.state != CertState::Issued) continue;
    const auto cert = test::inline_block(read_file(dir + "/clients/" + e.vm_id + ".ovpn"), "cert");
    EXPECT_EQ(test::verify(ca, cert, crl, X509_PURPOSE_SSL_CLIENT), X509_V_OK) << e.vm_id;
  }
}

TEST(VpnConcurrency, IssuesFromManyProcesses) {
  test::TempDir tmp;
  const auto dir = tmp.path() + "/vpn";
  ASSERT_EQ(init(options(dir)), Outcome::Changed);
  // Each child issues 3 VMs; children 2k and 2k+1 want the same addresses.
  constexpr int kChildren = 8;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int taken = 0;
      for (unsigned j = 0; j < 3; ++j) {
        try {
          issue(dir, "p" + std::to_string(c) + "-" + std::to_string(j),
                host(100 + static_cast<unsigned>(c / 2) * 3 + j), now());
          ++taken;
        } catch (const Error& e) {
          if (std::string(e.what()).find("is already VM") == std::string::npos) ::_exit(100);
        }
      }
      ::_exit(taken);
    }
    children.push_back(pid);
  }
  int total = 0;
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 100) << "a child failed for another reason than a taken address";
    total += WEXITSTATUS(status);
  }
  EXPECT_EQ(total, kChildren / 2 * 3);
  EXPECT_EQ(check_index(dir).size(), static_cast<std::size_t>(total));
}

TEST(VpnConcurrency, ConcurrentInitCreatesOneCa) {
  test::TempDir tmp;
  const auto dir = tmp.path() + "/vpn";
  std::atomic<int> changed{0}, unchanged{0};
  run_together(8, [&](int) {
    try {
      ++(init(options(dir)) == Outcome::Changed ? changed : unchanged);
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  });
  EXPECT_EQ(changed.load(), 1);
  EXPECT_EQ(unchanged.load(), 7);
  // The server certificate on disk was signed by the CA on disk.
  EXPECT_EQ(test::verify(read_file(dir + "/ca.crt"), read_file(dir + "/server.crt"),
                         read_file(dir + "/crl.pem"), X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
}

TEST(VpnConcurrency, LockTimeoutSaysWhatHoldsIt) {
  test::TempDir tmp;
  const auto path = tmp.path() + "/index.lock";
  const FileLock held(path);
  try {
    const FileLock second(path, 50ms);
    FAIL() << "second lock acquired";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Io);
    EXPECT_NE(
        std::string(e.what()).find("another `cloudtwin vpn` command has held the lock " + path),
        std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cloudtwin::vpn
