// The stages over a fake datasource and the fake netlink, files under a temp root.
#include "cloudtwin/agent/agent.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "absent_datasource.hpp"
#include "cloudtwin/agent/adapters/posix_process_runner.hpp"
#include "cloudtwin/agent/context_cd.hpp"
#include "cloudtwin/core/context_sh.hpp"
#include "fake_netlink.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ContextSource : public Datasource {
 public:
  explicit ContextSource(std::string text) : ctx_(core::parse_context_sh(text)) {}
  std::string name() const override { return "fake"; }
  bool probe() override { return true; }
  std::optional<core::Context> context() const override { return ctx_; }
  std::optional<std::string> hostname() const override { return ctx_.hostname(); }
  std::vector<std::string> ssh_public_keys() const override { return ctx_.ssh_public_keys(); }
  std::optional<std::string> user_data() const override { return ctx_.user_data(); }
  std::optional<std::string> instance_id() const override { return ctx_.get("VMID"); }
  NetworkPlan network_plan(const PlanOptions& o) const override {
    return plan_from_context(ctx_, o);
  }

 private:
  core::Context ctx_;
};

class Stages : public ::testing::Test {
 protected:
  Agent make(std::unique_ptr<Datasource> source) {
    std::vector<std::unique_ptr<Datasource>> sources;
    sources.push_back(std::make_unique<testing::AbsentDatasource>("nocloud"));
    if (source) sources.push_back(std::move(source));
    AgentOptions options;
    options.root = root_.path();
    return Agent(
        options, std::move(sources),
        [this] {
          ++netlinks_;
          return std::make_unique<ForwardingNetlink>(nl_);
        },
        out_, err_, {}, runner_.get());
  }
  // Hands the shared fake to the agent, which owns what it is given.
  struct ForwardingNetlink : Netlink {
    explicit ForwardingNetlink(testing::FakeNetlink& to) : to_(to) {}
    ObservedState observe() override { return to_.observe(); }
    void apply(const Operation& op) override { to_.apply(op); }
    testing::FakeNetlink& to_;
  };

  testing::TempDir root_;
  std::unique_ptr<ProcessRunner> runner_ = make_posix_process_runner();
  testing::FakeNetlink nl_{ObservedState{{testing::link(2, "eth0", "02:00:c0:a8:7a:0a")}}};
  int netlinks_ = 0;
  std::ostringstream out_, err_;
};

TEST_F(Stages, NoDatasourceChangesNothing) {
  auto agent = make(nullptr);
  EXPECT_EQ(agent.local(), 0);
  EXPECT_THAT(out_.str(), HasSubstr("no datasource found"));
  EXPECT_EQ(netlinks_, 0);
  EXPECT_FALSE(std::filesystem::exists(agent.status_path()));
  EXPECT_EQ(agent.final_stage(), 0);
  EXPECT_TRUE(std::filesystem::is_empty(root_.path()));
}

TEST_F(Stages, BrokenUserDataDoesNotStopTheNetwork) {
  auto agent =
      make(std::make_unique<ContextSource>("ETH0_MAC='02:00:c0:a8:7a:0a'\nUSER_DATA='%%%'\nUSER_"
                                           "DATA_ENCODING='base64'\nHOSTNAME='vm1'\n"));
  EXPECT_EQ(agent.local(), 0) << err_.str();
  EXPECT_EQ(nl_.calls, 3);
  EXPECT_THAT(out_.str(), HasSubstr("cloudtwin-agent local: fake: 1 ok, 1 skipped, 0 errors"));
  testing::write_file(root_.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(agent.final_stage(), 1);
  EXPECT_THAT(err_.str(), HasSubstr("user-data: context variable USER_DATA"));
  EXPECT_EQ(testing::read_text(root_.path() / "etc/hostname"), "vm1\n");
  const auto status = testing::read_text(agent.status_path());
  EXPECT_THAT(status, HasSubstr("\"local\""));
  EXPECT_THAT(status, HasSubstr("\"final\""));
  EXPECT_THAT(status, HasSubstr("user-data failed"));
  out_.str("");
  EXPECT_EQ(agent.status(), 0);
  EXPECT_EQ(out_.str(), status);
}

TEST_F(Stages, LocalPersistsForTheDetectedStackOnce) {
  testing::write_file(root_.path() / "lib/systemd/systemd", "");
  testing::write_file(root_.path() / "lib/systemd/systemd-networkd", "");
  // Enabled as `systemctl enable` does it: an absolute link that resolves only in the guest.
  std::filesystem::create_directories(root_.path() / "etc/systemd/system/multi-user.target.wants");
  std::filesystem::create_symlink(
      "/lib/systemd/system/systemd-networkd.service",
      root_.path() / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service");
  // A leftover NetworkManager folder and ifupdown's file do not outrank an enabled networkd.
  std::filesystem::create_directories(root_.path() / "etc/NetworkManager");
  testing::write_file(root_.path() / "etc/network/interfaces", "auto lo\n");
  auto agent =
      make(std::make_unique<ContextSource>("ETH0_MAC='02:00:c0:a8:7a:0a'\nDNS='1.1.1.1'\n"));
  EXPECT_EQ(agent.local(), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("persist-network: wrote "
                                    "/etc/systemd/network/10-cloudtwin-0200c0a87a0a.network\n"
                                    "  persist-network: wrote /etc/resolv.conf\n"));
  EXPECT_THAT(testing::read_text(root_.path() / "etc/resolv.conf"),
              HasSubstr("nameserver 1.1.1.1\n"));
  out_.str("");
  EXPECT_EQ(agent.local(), 0);
  EXPECT_THAT(out_.str(), HasSubstr("persist-network: networkd configuration already up to date"));
}

TEST_F(Stages, MaskedNetworkdFallsBackToIfupdown) {
  testing::write_file(root_.path() / "lib/systemd/systemd", "");
  testing::write_file(root_.path() / "lib/systemd/systemd-networkd", "");
  testing::write_file(root_.path() / "sbin/ifup", "");
  testing::write_file(root_.path() / "etc/network/interfaces", "auto lo\n");
  const auto sys = root_.path() / "etc/systemd/system";
  std::filesystem::create_directories(sys / "multi-user.target.wants");
  std::filesystem::create_symlink("/lib/systemd/system/systemd-networkd.service",
                                  sys / "multi-user.target.wants/systemd-networkd.service");
  std::filesystem::create_symlink("/dev/null", sys / "systemd-networkd.service");
  std::filesystem::create_symlink("/lib/systemd/system/networking.service",
                                  sys / "multi-user.target.wants/networking.service");
  auto agent = make(std::make_unique<ContextSource>("ETH0_MAC='02:00:c0:a8:7a:0a'\n"));
  EXPECT_EQ(agent.local(), 0) << err_.str();
  EXPECT_THAT(out_.str(),
              HasSubstr("persist-network: wrote /etc/network/interfaces.d/cloudtwin\n"));
}

TEST_F(Stages, SecondLocalRunIsAlreadyConfigured) {
  auto agent = make(std::make_unique<ContextSource>("ETH0_MAC='02:00:c0:a8:7a:0a'\n"));
  EXPECT_EQ(agent.local(), 0);
  const int calls = nl_.calls;
  EXPECT_EQ(agent.local(), 0);
  EXPECT_EQ(nl_.calls, calls);
  EXPECT_THAT(out_.str(), HasSubstr("network: already configured"));
}

TEST_F(Stages, NetlinkFailureIsReportedAndExitIsOne) {
  nl_.fail_at = 2;
  auto agent = make(std::make_unique<ContextSource>(
      "ETH0_MAC='02:00:c0:a8:7a:0a'\nSSH_PUBLIC_KEY='ssh-ed25519 AAAA k'\n"));
  EXPECT_EQ(agent.local(), 1);
  EXPECT_THAT(err_.str(),
              HasSubstr("network: addr add 192.168.122.10/24 dev eth0: Operation not permitted"));
  EXPECT_THAT(out_.str(), HasSubstr("1 error; network failed"));
  // final: no passwd under the root, so the key step fails; the others still run.
  EXPECT_EQ(agent.final_stage(), 1);
  EXPECT_THAT(err_.str(), HasSubstr("ssh-keys: user 'root' is not in"));
}

TEST_F(Stages, UserDataOncePerInstanceUsernameAndSudo) {
  testing::write_file(root_.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  const auto marker = (root_.path() / "ran").string();
  const std::string script = "#!/bin/sh\necho x >> " + marker + "\n";
  const std::string ctx =
      "VMID='42'\nUSERNAME='web'\nSUDO='YES'\nSSH_PUBLIC_KEY='ssh-ed25519 K'\n"
      "USER_DATA='" +
      core::base64_encode(script) + "'\nUSER_DATA_ENCODING='base64'\n";
  auto agent = make(std::make_unique<ContextSource>(ctx));
  EXPECT_EQ(agent.final_stage(), 0) << err_.str();
  std::ostringstream status;
  std::ostringstream ignored;
  AgentOptions status_options;
  status_options.root = root_.path();
  Agent(status_options, {}, {}, status, ignored).status();
  EXPECT_THAT(status.str(), HasSubstr("\"exit-code\": 0"));
  EXPECT_THAT(status.str(), HasSubstr("\"instance-id\": \"42\""));
  EXPECT_EQ(agent.final_stage(), 0) << err_.str();
  EXPECT_EQ(testing::read_text(marker), "x\n") << "a reboot does not rerun user-data";
  EXPECT_THAT(out_.str(), HasSubstr("user-data: already ran for instance 42"));
  EXPECT_THAT(testing::read_text(root_.path() / "etc/passwd"), HasSubstr("web:x:1000:1000:"));
  EXPECT_EQ(testing::read_text(root_.path() / "home/web/.ssh/authorized_keys"), "ssh-ed25519 K\n");
  EXPECT_EQ(testing::read_text(root_.path() / "etc/sudoers.d/90-cloudtwin-web"),
            "web ALL=(ALL) NOPASSWD:ALL\n");
  auto other = make(std::make_unique<ContextSource>(
      "VMID='43'\nUSER_DATA='" + core::base64_encode(script) + "'\nUSER_DATA_ENCODING='base64'\n"));
  EXPECT_EQ(other.final_stage(), 0);
  EXPECT_EQ(testing::read_text(marker), "x\nx\n") << "a new instance id reruns it";
}

// Context variables are data, never environment: PATH, IFS, LD_PRELOAD and HOME on the
// CD (and in the agent's own environment) change neither the plan nor what user-data
// scripts run with (the runner's fixed PATH and HOME only).
TEST_F(Stages, PathIfsLdPreloadContextVariablesChangeNothing) {
  testing::write_file(root_.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  const auto marker = (root_.path() / "env").string();
  const std::string script = "#!/bin/sh\nenv | sed '/^PWD=/d' | sort > " + marker + "\n";
  const std::string hostile =
      "PATH='/nonexistent'\nIFS='x'\nLD_PRELOAD='/nonexistent/evil.so'\nHOME='/tmp/evil'\n"
      "LD_LIBRARY_PATH='/nonexistent'\n";
  const std::string ctx = "ETH0_MAC='02:00:c0:a8:7a:0a'\nVMID='9'\nUSER_DATA='" +
                          core::base64_encode(script) + "'\nUSER_DATA_ENCODING='base64'\n";
  const auto plain = plan_from_context(core::Context(core::parse_context_sh(ctx)), {});
  const auto with_hostile =
      plan_from_context(core::Context(core::parse_context_sh(hostile + ctx)), {});
  EXPECT_TRUE(plain.nics == with_hostile.nics);
  EXPECT_EQ(plain.warnings, with_hostile.warnings);

  struct SavedEnv {  // the agent's own environment, hostile too, restored afterwards
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    void set(const char* name, const char* value) {
      const char* old = std::getenv(name);
      saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(name, value, 1);
    }
    ~SavedEnv() {
      for (const auto& [name, value] : saved) {
        if (value)
          ::setenv(name.c_str(), value->c_str(), 1);
        else
          ::unsetenv(name.c_str());
      }
    }
  } env;
  env.set("LD_PRELOAD", "/nonexistent/evil.so");
  env.set("IFS", "x");
  env.set("PATH", "/nonexistent");
  auto agent = make(std::make_unique<ContextSource>(hostile + ctx));
  EXPECT_EQ(agent.local(), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("network: addr add 192.168.122.10/24 dev eth0"));
  EXPECT_EQ(agent.final_stage(), 0) << err_.str();
  EXPECT_EQ(testing::read_text(marker),
            "HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  EXPECT_THAT(
      testing::read_text(root_.path() / "var/lib/cloudtwin-agent/instances/9/user-data.log"),
      Not(HasSubstr("evil")));
}

// A context CD that shows up only at the third search (as a slow IDE/SATA probe at
// boot), with user-data that cannot be decoded: the network and the other final
// steps still run; the exit status is 1 and the summary names the failed step.
class LateLocator : public DiskLocator {
 public:
  std::optional<std::string> find_by_label(const std::string& label) override {
    labels.push_back(label);
    if (labels.size() < 3) return std::nullopt;
    return std::string("/dev/sr0");
  }
  std::vector<std::string> labels;
};

class MapDisk : public ContextDisk {
 public:
  explicit MapDisk(std::map<std::string, std::string> files) : files_(std::move(files)) {}
  std::string volume_id() const override { return "CONTEXT"; }
  std::optional<std::string> read_file(std::string_view path, std::size_t) override {
    const auto it = files_.find(std::string(path));
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> files_;
};

TEST_F(Stages, LateCdAndFailingStepStillRunOthersThenExitOneWithSummary) {
  testing::write_file(root_.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  LateLocator locator;
  std::vector<std::chrono::milliseconds> sleeps;
  ContextCdOptions options;
  options.attempts = 5;
  options.retry_delay = std::chrono::milliseconds(100);
  const std::map<std::string, std::string> files = {
      {"context.sh",
       "ETH0_MAC='02:00:c0:a8:7a:0a'\nSET_HOSTNAME='late'\nSSH_PUBLIC_KEY='ssh-ed25519 AAAA k'\n"
       "USER_DATA='%%%'\nUSER_DATA_ENCODING='base64'\n"}};
  auto source = std::make_unique<ContextCdDatasource>(
      locator, [&](const std::string&) { return std::make_unique<MapDisk>(files); }, options,
      [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  auto agent = make(std::move(source));
  EXPECT_EQ(agent.local(), 0) << err_.str();
  EXPECT_EQ(locator.labels.size(), 3u);
  EXPECT_EQ(sleeps, (std::vector<std::chrono::milliseconds>(2, std::chrono::milliseconds(100))));
  EXPECT_THAT(out_.str(), HasSubstr("network: addr add 192.168.122.10/24 dev eth0"));
  EXPECT_THAT(out_.str(), HasSubstr("cloudtwin-agent local: context-cd (/dev/sr0): 1 ok"));
  out_.str("");
  EXPECT_EQ(agent.final_stage(), 1);
  EXPECT_EQ(testing::read_text(root_.path() / "etc/hostname"), "late\n");
  EXPECT_EQ(testing::read_text(root_.path() / "root/.ssh/authorized_keys"), "ssh-ed25519 AAAA k\n");
  EXPECT_THAT(err_.str(), HasSubstr("user-data: context variable USER_DATA"));
  EXPECT_THAT(out_.str(), HasSubstr("cloudtwin-agent final: context-cd (/dev/sr0): 2 ok, "));
  EXPECT_THAT(out_.str(), HasSubstr(" 1 error; user-data failed\n")) << err_.str();
  EXPECT_THAT(testing::read_text(agent.status_path()), HasSubstr("\"ok\": false"));
}

TEST(Report, MergeKeepsOtherStagesAndRejectsGarbage) {
  StageReport local{
      "local", "context-cd", "/dev/sr0", "7", {{"network", StepResult::Ok, 1.5, {"x"}}},
      0,       "",           {},         {}};
  const auto first = merge_status_json("", local);
  StageReport final_report{
      "final",
      "context-cd",
      "/dev/sr0",
      "7",
      {{"hostname", StepResult::Skipped, 0, {}}},
      12.5,
      "vm1",
      {{"part-001", "script", 3, false}, {"part-002", "include", -1, true}},
      TunnelReport{"up", "ctvpn0", {"192.168.77.50/24"}, "supervisor", 9, "/p"}};
  const auto both = merge_status_json(first, final_report);
  EXPECT_THAT(both, HasSubstr("\"local\""));
  EXPECT_THAT(both, HasSubstr("\"final\""));
  EXPECT_THAT(both, HasSubstr("\"instance-id\": \"7\""));
  EXPECT_THAT(both, HasSubstr("\"hostname\": \"vm1\""));
  EXPECT_THAT(both, HasSubstr("\"exit-code\": 3"));
  EXPECT_THAT(both, HasSubstr("\"duration-ms\": 12.5"));
  EXPECT_THAT(both, HasSubstr("\"state\": \"up\""));
  EXPECT_THAT(both, HasSubstr("\"192.168.77.50/24\""));
  EXPECT_THROW(merge_status_json("[1,2", local), Error);
  EXPECT_THROW(merge_status_json("[1,2]", local), Error);
  EXPECT_EQ(summary_line(local),
            "cloudtwin-agent local: context-cd (/dev/sr0): 1 ok, 0 skipped, 0 errors");
}

}  // namespace
}  // namespace cloudtwin::agent
