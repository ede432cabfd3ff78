// End to end, the libvirt record source (issue 3): `cloudtwin-metadata --libvirt URI` against
// the sandbox's real libvirtd, with no records dir. Everything it serves comes from the
// <metadata> that `cloudtwin vm create` wrote into each domain, and it follows domain events:
// VMs created after it started are served, a deleted VM is not. Label vm; needs root.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace cloudtwin::e2e {
namespace {

using namespace std::chrono_literals;

struct Reply {
  int status = 0;  // 0: no HTTP answer at all
  std::string body;
};

// A stand-in for a VM that is not running: its own network namespace, a veth on the
// sandbox's bridge carrying the VM's MAC and leased address. To cloudtwin-metadata (source
// address + neighbour MAC) it looks exactly like that VM. Removed by the destructor.
class Impostor {
 public:
  Impostor(const std::string& sandbox_ns, const std::string& bridge, const std::string& ip,
           const std::string& mac)
      : ns_("ct-e2e-imp-" + std::to_string(::getpid())) {
    const std::string port = "ctimp" + std::to_string(::getpid() % 100000);
    vm::run_checked({"ip", "netns", "add", ns_});
    created_ = true;
    vm::run_checked({"ip", "-n", sandbox_ns, "link", "add", port, "type", "veth", "peer", "name",
                     "eth0", "netns", ns_});
    vm::run_checked({"ip", "-n", sandbox_ns, "link", "set", port, "master", bridge, "up"});
    vm::run_checked({"ip", "-n", ns_, "link", "set", "eth0", "address", mac});
    vm::run_checked({"ip", "-n", ns_, "addr", "add", ip + "/24", "dev", "eth0"});
    vm::run_checked({"ip", "-n", ns_, "link", "set", "eth0", "up"});
    vm::run_checked({"ip", "-n", ns_, "link", "set", "lo", "up"});
    // 169.254.169.254 is an address of the bridge: on-link, as a guest's agent reaches it.
    vm::run_checked({"ip", "-n", ns_, "route", "add", "169.254.169.254/32", "dev", "eth0"});
  }
  ~Impostor() {
    if (created_) vm::run_command({"ip", "netns", "del", ns_});
  }
  Impostor(const Impostor&) = delete;
  Impostor& operator=(const Impostor&) = delete;

  // One request to the metadata service, with `headers` ("Name: value").
  Reply http(const std::string& method, const std::string& path,
             const std::vector<std::string>& headers = {}) const {
    std::vector<std::string> argv{"ip", "netns", "exec", ns_,  "curl", "-sS", "--noproxy",
                                  "*",  "-m",    "5",    "-X", method, "-w",  "\n%{http_code}"};
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    argv.push_back("http://169.254.169.254" + path);
    const auto r = vm::run_command(argv, 15s);
    Reply reply;
    const auto nl = r.output.find_last_of('\n');
    if (nl == std::string::npos) return reply;
    try {
      reply.status = std::stoi(r.output.substr(nl + 1));
    } catch (const std::exception&) {
      reply.status = 0;
    }
    reply.body = r.output.substr(0, nl);
    return reply;
  }

  // The status of an IMDSv2 token request (PUT /latest/api/token).
  Reply token() const {
    return http("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds: 60"});
  }

 private:
  std::string ns_;
  bool created_ = false;
};

TEST_F(E2e, MetadataServiceServesFromLibvirtDomainMetadataAndFollowsEvents) {
  if (const auto why = prepare(); !why.empty()) GTEST_SKIP() << why;
  start_sandbox_with_network();
  start_metadata_service_from_libvirt();
  const auto log = [&] { return read_text(work() / "metadata.log"); };
  const auto ctl_list = [&] {
    return sandbox_
        ->exec({CLOUDTWIN_METADATA, "ctl", "--socket", metadata_ctl_socket().string(), "list"})
        .output;
  };
  const auto eventually = [](auto&& ok) {
    for (int i = 0; i < 100; ++i, std::this_thread::sleep_for(50ms)) {
      if (ok()) return true;
    }
    return false;
  };
  EXPECT_NE(log().find("serving 0 instance(s) from libvirt qemu:///system"), std::string::npos)
      << log();

  // 1. A VM created after the service started, as on EC2: no context CD, IMDSv2 only. Its
  // host name, SSH key and user-data exist only in the record `vm create` put in the domain.
  const std::string marker = "from-domain-metadata";
  CdChange no_cd;
  no_cd.eject = true;
  auto guest = create_tiny_vm(
      "lv-ec2", "",
      "SET_HOSTNAME = \"lv-host\", USER_DATA = \"#!/bin/sh\necho " + marker + " > /run/marker\"",
      no_cd, "EC2 = [ HTTP_TOKENS = \"required\" ]\n");
  guest.hostname = "lv-host";
  guest.marker = marker;
  const auto guest_id = instance_id(guest.name);
  const auto status = boot_and_read_status(guest);
  const auto flat = flatten_json(status.json);
  EXPECT_EQ(value(flat, "stages.local.datasource"), "\"ec2\"") << status.json;
  EXPECT_EQ(value(flat, "stages.final.datasource"), "\"ec2\"") << status.json;
  EXPECT_EQ(value(flat, "stages.local.ok"), "true") << status.json;
  EXPECT_EQ(value(flat, "stages.final.ok"), "true") << status.json;
  EXPECT_EQ(value(flat, "stages.final.instance-id"), "\"" + guest_id + "\"") << status.json;
  check_guest_state(guest);  // host name, address, SSH key, user-data marker
  EXPECT_NE(log().find("loaded domain 'lv-ec2' (instance " + guest_id + ")"), std::string::npos)
      << log();
  EXPECT_NE(log().find(guest.ip + " PUT /latest/api/token 200"), std::string::npos) << log();

  // 2. A second VM, created while the service runs and stopped at once: it is served from the
  // domain event alone. An impostor with its MAC and address asks in its place.
  auto late = create_tiny_vm("lv-late", "", "", no_cd, "EC2 = [ HTTP_TOKENS = \"required\" ]\n");
  const auto stop = ct({"vm", "stop", late.name, "--force"});
  ASSERT_EQ(stop.exit_code, 0) << stop.output;
  late.console.reset();
  const auto late_id = instance_id(late.name);
  EXPECT_TRUE(eventually([&] {
    return ctl_list().find(late_id + " lv-late " + late.ip) != std::string::npos;
  })) << ctl_list();
  const auto bridge_info =
      sandbox_->checked({"virsh", "-c", "qemu:///system", "net-info", kNetwork});
  std::smatch br;
  ASSERT_TRUE(std::regex_search(bridge_info, br, std::regex(R"(Bridge:\s+(\S+))"))) << bridge_info;
  const auto mac = core::mac_from_ipv4(core::Ipv4::parse(late.ip)).to_string();
  const Impostor impostor(netns_, br[1], late.ip, mac);

  // IMDSv2 only, as its template's EC2 section said (the service's default is optional).
  Reply v1;  // the first try may meet the new bridge port before it forwards
  eventually([&] { return (v1 = impostor.http("GET", "/latest/meta-data/instance-id")).status; });
  EXPECT_EQ(v1.status, 401) << "IMDSv1 request answered: " << v1.body << "\n" << log();
  Reply token;
  EXPECT_TRUE(eventually([&] { return (token = impostor.token()).status == 200; }))
      << token.status << " " << token.body << "\n"
      << log();
  const auto id = impostor.http("GET", "/latest/meta-data/instance-id",
                                {"X-aws-ec2-metadata-token: " + token.body});
  EXPECT_EQ(id.status, 200) << id.body;
  EXPECT_EQ(id.body, late_id);
  const auto host = impostor.http("GET", "/latest/meta-data/local-hostname",
                                  {"X-aws-ec2-metadata-token: " + token.body});
  EXPECT_EQ(host.body, "lv-late");

  // 3. `vm delete` undefines the domain: the same caller is no VM any more.
  const auto del = ct({"vm", "delete", late.name});
  ASSERT_EQ(del.exit_code, 0) << del.output;
  Reply gone;
  EXPECT_TRUE(eventually([&] { return (gone = impostor.token()).status == 404; }))
      << "still answered for a deleted VM: " << gone.status << " " << gone.body << "\n"
      << log();
  EXPECT_EQ(ctl_list().find(late_id), std::string::npos) << ctl_list();
  EXPECT_NE(log().find("dropped domain 'lv-late' (instance " + late_id + "): undefined"),
            std::string::npos)
      << log();
  EXPECT_NE(ctl_list().find(guest_id + " lv-ec2 " + guest.ip), std::string::npos) << ctl_list();

  delete_and_check_nothing_left(guest.name);
  EXPECT_TRUE(eventually([&] { return ctl_list().find(guest_id) == std::string::npos; }))
      << ctl_list();
  std::printf("[ metadata ] %s", log().c_str());
}

}  // namespace
}  // namespace cloudtwin::e2e
