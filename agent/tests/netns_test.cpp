// Real netlink in a throw-away network namespace (label netns: needs root). Each test
// gets a namespace with a veth pair whose MACs carry the cloudtwin prefix; the code under
// test runs in a forked child that has joined the namespace, so the machine's own
// interfaces are never touched.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/adapters/libnl_netlink.hpp"
#include "cloudtwin/agent/cli.hpp"
#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/vm/net_ns.hpp"
#include "metadata_service.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error("'" + cmd + "' failed: " + out);
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

class Netns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label netns)";
    if (!testing::have_program("ip")) GTEST_SKIP() << "iproute2 'ip' is not installed";
    name_ = "cloudtwin-agent-" + std::to_string(getpid());
    run("ip netns add " + name_);
    created_ = true;
    run("ip -n " + name_ +
        " link add veth0 address 02:00:c0:a8:7a:0a type veth peer name veth1 address "
        "02:00:c0:a8:7b:0a");
  }
  void TearDown() override {
    if (created_) run("ip netns del " + name_);
  }

  // Runs f in a child process that joined the namespace; returns its text, or
  // "EXCEPTION: ..." when it threw.
  std::string in_netns(const std::function<std::string()>& f) { return vm::run_in_netns(name_, f); }

  std::string ip(const std::string& args) { return run("ip -n " + name_ + " " + args); }

  std::string name_;
  bool created_ = false;
};

TEST_F(Netns, ContextPlanAppliedTwiceChangesNothingTheSecondTime) {
  const core::Context ctx(
      core::parse_context_sh("ETH0_MAC='02:00:c0:a8:7a:0a'\nETH0_MTU='1400'\n"
                             "ETH1_MAC='02:00:c0:a8:7b:0a'\nETH1_IP6='2001:db8:1::5'\nETH1_IP6_"
                             "GATEWAY='2001:db8:1::1'\n"));
  PlanOptions options;
  options.metadata_route = true;
  const auto plan = plan_from_context(ctx, options);
  const auto out = in_netns([&] {
    auto nl = make_libnl_netlink();
    const auto first = apply_plan(*nl, plan);
    const auto second = apply_plan(*nl, plan);
    return join(first.applied) + "errors:" + join(first.errors) + "--\n" + join(second.applied) +
           "errors:" + join(second.errors) + "warnings:" + join(second.warnings);
  });
  EXPECT_EQ(out,
            "link set veth0 mtu 1400\n"
            "link set veth0 up\n"
            "addr add 192.168.122.10/24 dev veth0\n"
            "route add default via 192.168.122.1 dev veth0\n"
            "route add 169.254.169.254/32 via 192.168.122.1 dev veth0\n"
            "link set veth1 up\n"
            "addr add 192.168.123.10/24 dev veth1\n"
            "addr add 2001:db8:1::5/64 dev veth1\n"
            "route add default via 2001:db8:1::1 dev veth1\n"
            "errors:--\nerrors:warnings:");
  EXPECT_THAT(ip("-4 -o addr show dev veth0"), HasSubstr("inet 192.168.122.10/24"));
  EXPECT_THAT(ip("-o link show dev veth0"), HasSubstr("mtu 1400"));
  EXPECT_THAT(ip("-6 -o addr show dev veth1"), HasSubstr("inet6 2001:db8:1::5/64"));
  const auto routes = ip("-4 route show");
  EXPECT_THAT(routes, HasSubstr("default via 192.168.122.1 dev veth0 proto static"));
  EXPECT_THAT(routes, HasSubstr("169.254.169.254 via 192.168.122.1 dev veth0 proto static"));
  EXPECT_THAT(ip("-6 route show"), HasSubstr("default via 2001:db8:1::1 dev veth1"));
}

TEST_F(Netns, ObserveSeesWhatIpConfigured) {
  ip("link set veth0 up");
  ip("addr add 10.9.8.7/24 dev veth0");
  const auto out = in_netns([] {
    std::string text;
    for (const auto& l : make_libnl_netlink()->observe().links) {
      text += l.name + " " + (l.mac ? l.mac->to_string() : "-") + (l.up ? " up" : " down") +
              " mtu " + std::to_string(l.mtu);
      for (const auto& a : l.addresses) text += " " + to_string(a);
      for (const auto& r : l.routes) text += " [" + to_string(r) + "]";
      text += "\n";
    }
    return text;
  });
  EXPECT_THAT(out, HasSubstr("lo - down mtu 65536\n"));
  EXPECT_THAT(out, HasSubstr("veth0 02:00:c0:a8:7a:0a up mtu 1500 10.9.8.7/24"));
  EXPECT_THAT(out, HasSubstr("[10.9.8.0/24]"));
  EXPECT_THAT(out, HasSubstr("veth1 02:00:c0:a8:7b:0a down mtu 1500\n"));
}

TEST_F(Netns, ExistsIsSuccessAndOtherErrorsNameTheOperation) {
  const auto out = in_netns([] {
    auto nl = make_libnl_netlink();
    int veth0 = 0;
    for (const auto& l : nl->observe().links) {
      if (l.name == "veth0") veth0 = l.ifindex;
    }
    Operation add;
    add.kind = OperationKind::AddAddress;
    add.ifindex = veth0;
    add.ifname = "veth0";
    add.address = InterfaceAddress{core::Ipv4::parse("10.1.1.1"), 24};
    nl->apply(add);
    nl->apply(add);  // exists: success
    Operation bad = add;
    bad.ifindex = 999999;
    bad.ifname = "ghost";
    try {
      nl->apply(bad);
      return std::string("no error for a missing link");
    } catch (const Error& e) {
      return std::string("ok ") + e.what();
    }
  });
  EXPECT_THAT(out, HasSubstr("ok addr add 10.1.1.1/24 dev ghost: "));
}

// The whole `local` stage from a genisoimage context ISO, twice: the second run changes
// nothing and says so.
TEST_F(Netns, LocalStageFromIsoTwice) {
  if (!testing::have_program("genisoimage")) GTEST_SKIP() << "genisoimage is not installed";
  testing::TempDir dir;
  const auto iso = testing::make_iso(
      dir, {{"context.sh",
             "ETH0_MAC='02:00:c0:a8:7a:0a'\nETH1_MAC='02:00:c0:a8:7b:0a'\n"
             "ETH1_METHOD='skip'\nUSER_DATA='%%%'\nUSER_DATA_ENCODING='base64'\n"}});
  const std::vector<std::string> args = {"local", "--root", dir.path().string(), "--context-device",
                                         iso.string()};
  const auto out = in_netns([&] {
    std::ostringstream o1, e1, o2, e2;
    const int rc1 = run_cli(args, o1, e1);
    const int rc2 = run_cli(args, o2, e2);
    return std::to_string(rc1) + o1.str() + e1.str() + "--\n" + std::to_string(rc2) + o2.str() +
           e2.str();
  });
  EXPECT_THAT(out, HasSubstr("0  network: link set veth0 up\n"
                             "  network: addr add 192.168.122.10/24 dev veth0\n"
                             "  network: route add default via 192.168.122.1 dev veth0\n"
                             "cloudtwin-agent local: context-cd"));
  EXPECT_THAT(out, HasSubstr("--\n0  network: already configured\n"));
  EXPECT_THAT(ip("-o link show dev veth1"), HasSubstr("state DOWN")) << "METHOD=skip";
  EXPECT_THAT(testing::read_text(dir.path() / "var/lib/cloudtwin-agent/status.json"),
              HasSubstr("\"local\""));
}

// The same from a CD written by our own host side (cloudtwin's libisofs writer, Joliet +
// Rock Ridge), the image given as the device: `local` configures veth0, `final` names the
// host, and a second `local` changes nothing.
TEST_F(Netns, LocalAndFinalFromIsoWrittenByOurWriter) {
  testing::TempDir dir;
  testing::write_file(dir.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  const auto iso = (dir.path() / "context.iso").string();
  host::make_libisofs_writer()->write(
      iso, "CONTEXT",
      {{"context.sh",
        "ETH0_MAC='02:00:c0:a8:7a:0a'\nETH0_IP='10.7.0.9'\nETH0_MASK='255.255.255.0'\n"
        "ETH1_MAC='02:00:c0:a8:7b:0a'\nETH1_METHOD='skip'\nSET_HOSTNAME='ours'\n",
        ""}});
  const auto args = [&](const char* stage) {
    return std::vector<std::string>{stage, "--root", dir.path().string(), "--context-device", iso};
  };
  const auto out = in_netns([&] {
    std::ostringstream o1, e1, o2, e2, o3, e3;
    const int rc1 = run_cli(args("local"), o1, e1);
    const int rc2 = run_cli(args("final"), o2, e2);
    const int rc3 = run_cli(args("local"), o3, e3);
    return std::to_string(rc1) + o1.str() + e1.str() + "--\n" + std::to_string(rc2) + o2.str() +
           e2.str() + "--\n" + std::to_string(rc3) + o3.str() + e3.str();
  });
  EXPECT_THAT(out, HasSubstr("0  network: link set veth0 up\n"
                             "  network: addr add 10.7.0.9/24 dev veth0\n"));
  EXPECT_THAT(out, HasSubstr("cloudtwin-agent local: context-cd (" + iso + "): 1 ok"));
  EXPECT_THAT(out, HasSubstr("--\n0  network: already configured\n"));
  EXPECT_THAT(ip("-4 -o addr show dev veth0"), HasSubstr("inet 10.7.0.9/24"));
  EXPECT_THAT(ip("-o link show dev veth1"), HasSubstr("state DOWN")) << "METHOD=skip";
  EXPECT_EQ(testing::read_text(dir.path() / "etc/hostname"), "ours\n");
}

// `local` with only the EC2 datasource: no address is up, so the agent derives one from
// the first NIC's MAC (veth1: the kernel gave the peer the lower ifindex), adds the route to
// 169.254.169.254, then reads the real metadata service (here on 127.0.0.1 inside the namespace)
// and configures the secondary NIC from network/interfaces/macs/*. A second run changes nothing.
TEST_F(Netns, LocalStageFromEc2WithMacFallbackTwice) {
  ip("link set lo up");
  testing::TempDir dir;
  const std::string json = R"({"instance-id": "i-netns", "local-hostname": "ec2-twin",
    "network-interfaces": [
      {"mac": "02:00:c0:a8:7b:0a", "device-number": 0, "local-ipv4s": ["192.168.123.10"],
       "subnet-ipv4-cidr-block": "192.168.123.0/24"},
      {"mac": "02:00:c0:a8:7a:0a", "device-number": 1, "local-ipv4s": ["10.2.0.5"],
       "subnet-ipv4-cidr-block": "10.2.0.0/24"}],
    "metadata-options": {"http-tokens": "required"}, "serve-to": ["127.0.0.1"]})";
  const auto out = in_netns([&] {
    testing::Service service(json);  // created after joining: its socket is in the namespace
    const std::vector<std::string> args = {"local",         "--root", dir.path().string(),
                                           "--datasources", "ec2",    "--metadata-url",
                                           service.url()};
    std::ostringstream o1, e1, o2, e2;
    const int rc1 = run_cli(args, o1, e1);
    const int rc2 = run_cli(args, o2, e2);
    return std::to_string(rc1) + o1.str() + e1.str() + "--\n" + std::to_string(rc2) + o2.str() +
           e2.str();
  });
  EXPECT_THAT(out, HasSubstr("0  metadata-fallback: link set veth1 up\n"
                             "  metadata-fallback: addr add 192.168.123.10/24 dev veth1\n"
                             "  metadata-fallback: route add default via 192.168.123.1 dev veth1\n"
                             "  metadata-fallback: route add 169.254.169.254/32 via 192.168.123.1 "
                             "dev veth1\n"
                             "  network: link set veth0 up\n"
                             "  network: addr add 10.2.0.5/24 dev veth0\n"
                             "cloudtwin-agent local: ec2 (http://127.0.0.1:"));
  EXPECT_THAT(out, HasSubstr("--\n0  metadata-fallback: an IPv4 address is already up"));
  EXPECT_THAT(out, HasSubstr("  network: already configured\n"));
  EXPECT_THAT(ip("-4 -o addr show dev veth0"), HasSubstr("inet 10.2.0.5/24"));
  EXPECT_THAT(ip("-4 route show"), HasSubstr("169.254.169.254 via 192.168.123.1 dev veth1"));
  const auto status = testing::read_text(dir.path() / "var/lib/cloudtwin-agent/status.json");
  EXPECT_THAT(status, HasSubstr("\"instance-id\": \"i-netns\""));
}

}  // namespace
}  // namespace cloudtwin::agent
