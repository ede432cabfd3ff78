// Renderers: a flat table of (plan from context.sh, renderer) -> exact file text, in the
// style of systemd's test-network-generator.c; then detection and installation.
#include "cloudtwin/agent/network_render.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "net_fixtures.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;

NetworkPlan plan(const std::string& context_sh) {
  PlanOptions o;
  o.metadata_route = true;
  return plan_from_context(core::Context(core::parse_context_sh(context_sh)), o);
}

const std::string kStatic =
    "ETH0_MAC=02:00:c0:a8:7a:0a\nETH0_MTU=1400\nETH0_DNS='1.1.1.1 9.9.9.9'\n"
    "ETH0_SEARCH_DOMAIN=example.org\nETH0_IP6=2001:db8::5\nETH0_IP6_GATEWAY=2001:db8::1\n";
const std::string kDhcp = "ETH0_MAC=02:00:c0:a8:7a:0a\nETH0_METHOD=dhcp\n";

struct Case {
  const char* name;
  std::string context;
  Renderer renderer;
  std::string path;
  std::string text;
};

const Case kCases[] = {
    {"networkd_static", kStatic, Renderer::Networkd,
     "/etc/systemd/network/10-cloudtwin-0200c0a87a0a.network",
     "# Written by cloudtwin-agent from ETH0; replaced at every boot.\n"
     "[Match]\nMACAddress=02:00:c0:a8:7a:0a\n\n[Link]\nMTUBytes=1400\n\n[Network]\n"
     "Address=192.168.122.10/24\nAddress=2001:db8::5/64\nDNS=1.1.1.1\nDNS=9.9.9.9\n"
     "Domains=example.org\nIPv6AcceptRA=no\n\n"
     "[Route]\nGateway=192.168.122.1\n\n"
     "[Route]\nDestination=169.254.169.254/32\nGateway=192.168.122.1\n\n"
     "[Route]\nGateway=2001:db8::1\n"},
    {"networkd_dhcp", kDhcp, Renderer::Networkd,
     "/etc/systemd/network/10-cloudtwin-0200c0a87a0a.network",
     "# Written by cloudtwin-agent from ETH0; replaced at every boot.\n"
     "[Match]\nMACAddress=02:00:c0:a8:7a:0a\n\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\n"},
    {"ifupdown_static", kStatic, Renderer::Ifupdown, "/etc/network/interfaces.d/cloudtwin",
     "# Written by cloudtwin-agent from the VM's context; replaced at every boot.\n"
     "\n# ETH0 (02:00:c0:a8:7a:0a)\nauto eth0\niface eth0 inet static\n"
     "    pre-up ip -4 addr flush dev eth0\n    address 192.168.122.10/24\n    mtu 1400\n    "
     "dns-nameservers 1.1.1.1 9.9.9.9\n"
     "    dns-search example.org\n"
     "    up ip route replace default via 192.168.122.1 dev eth0\n"
     "    up ip route replace 169.254.169.254/32 via 192.168.122.1 dev eth0\n"
     "iface eth0 inet6 static\n    address 2001:db8::5/64\n    gateway 2001:db8::1\n"},
    {"ifupdown_dhcp", kDhcp, Renderer::Ifupdown, "/etc/network/interfaces.d/cloudtwin",
     "# Written by cloudtwin-agent from the VM's context; replaced at every boot.\n"
     "\n# ETH0 (02:00:c0:a8:7a:0a)\nauto eth0\niface eth0 inet dhcp\n"},
    {"nm_static", kStatic, Renderer::NetworkManager,
     "/etc/NetworkManager/system-connections/cloudtwin-0200c0a87a0a.nmconnection",
     "# Written by cloudtwin-agent from ETH0; replaced at every boot.\n"
     "[connection]\nid=cloudtwin ETH0\nuuid=UUID\ntype=ethernet\nautoconnect=true\n\n"
     "[ethernet]\nmac-address=02:00:c0:a8:7a:0a\nmtu=1400\n\n"
     "[ipv4]\nmethod=manual\naddress1=192.168.122.10/24\ngateway=192.168.122.1\n"
     "route1=169.254.169.254/32,192.168.122.1\ndns=1.1.1.1;9.9.9.9;\ndns-search=example.org;\n\n"
     "[ipv6]\nmethod=manual\naddress1=2001:db8::5/64\ngateway=2001:db8::1\n"},
    {"nm_dhcp", kDhcp, Renderer::NetworkManager,
     "/etc/NetworkManager/system-connections/cloudtwin-0200c0a87a0a.nmconnection",
     "# Written by cloudtwin-agent from ETH0; replaced at every boot.\n"
     "[connection]\nid=cloudtwin ETH0\nuuid=UUID\ntype=ethernet\nautoconnect=true\n\n"
     "[ethernet]\nmac-address=02:00:c0:a8:7a:0a\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n"},
};

// The uuid is a hash of the MAC: checked for shape and stability, not spelled out.
std::string mask_uuid(std::string text) {
  const auto at = text.find("uuid=");
  if (at == std::string::npos) return text;
  const auto end = text.find('\n', at);
  const auto uuid = text.substr(at + 5, end - at - 5);
  EXPECT_EQ(uuid.size(), 36u) << uuid;
  return text.replace(at + 5, end - at - 5, "UUID");
}

TEST(Render, GoldenTable) {
  ObservedState observed;
  observed.links.push_back(testing::link(2, "eth0", "02:00:c0:a8:7a:0a"));
  for (const auto& c : kCases) {
    const auto p = plan(c.context);
    Rendered r = c.renderer == Renderer::Networkd   ? render_networkd(p)
                 : c.renderer == Renderer::Ifupdown ? render_ifupdown(p, observed)
                                                    : render_networkmanager(p);
    ASSERT_EQ(r.files.size(), 1u) << c.name;
    EXPECT_EQ(r.files[0].path, c.path) << c.name;
    EXPECT_EQ(mask_uuid(r.files[0].content), c.text) << c.name;
    EXPECT_EQ(r.files[0].mode, c.renderer == Renderer::NetworkManager ? 0600u : 0644u) << c.name;
  }
}

TEST(Render, SkipNicsAndIfupdownWithoutLink) {
  EXPECT_TRUE(
      render_networkd(plan("ETH0_MAC=02:00:c0:a8:7a:0a\nETH0_METHOD=skip\n")).files.empty());
  const auto r = render_ifupdown(plan(kStatic), ObservedState{});
  EXPECT_TRUE(r.files.empty());
  EXPECT_THAT(r.warnings, ElementsAre("ETH0: no interface with MAC 02:00:c0:a8:7a:0a, so no "
                                      "ifupdown stanza (ifupdown needs its name)"));
  EXPECT_EQ(render_networkmanager(plan(kStatic)).files[0].content,
            render_networkmanager(plan(kStatic)).files[0].content);  // stable uuid
}

TEST(Render, Dns) {
  const auto p = plan(kStatic + "ETH1_MAC=02:00:c0:a8:7b:0a\nETH1_DNS='9.9.9.9 8.8.8.8'\n");
  EXPECT_EQ(render_dns(p, false)->path, "/etc/resolv.conf");
  EXPECT_EQ(render_dns(p, false)->content,
            "# Written by cloudtwin-agent from the VM's context; replaced at every boot.\n"
            "nameserver 1.1.1.1\nnameserver 9.9.9.9\nnameserver 8.8.8.8\nsearch example.org\n");
  EXPECT_EQ(render_dns(p, true)->path, "/etc/systemd/resolved.conf.d/cloudtwin.conf");
  EXPECT_EQ(render_dns(p, true)->content,
            "# Written by cloudtwin-agent from the VM's context; replaced at every boot.\n"
            "[Resolve]\nDNS=1.1.1.1 9.9.9.9 8.8.8.8\nDomains=example.org\n");
  EXPECT_EQ(render_dns(plan(kDhcp), true), std::nullopt);
}

// Detection: (files in the guest, masked units, renderer setting) -> renderer. Paths are
// what `exists` answers for; "wants/X" stands for multi-user.target.wants/X.
struct DetectCase {
  const char* name;
  std::set<std::string> files;
  std::set<std::string> masked;
  const char* configured;
  std::optional<Renderer> expected;
};

const std::string kWants = "/etc/systemd/system/multi-user.target.wants/";
const std::string kSystemd = "/lib/systemd/systemd";
const std::string kNetworkd = "/lib/systemd/systemd-networkd";
const std::string kNm = "/usr/sbin/NetworkManager";
const std::string kIfup = "/sbin/ifup";
const std::string kInterfaces = "/etc/network/interfaces";
const std::string kNetworkdOn = kWants + "systemd-networkd.service";
const std::string kNmOn = kWants + "NetworkManager.service";
const std::string kIfupdownOn = kWants + "networking.service";

const DetectCase kDetect[] = {
    {"networkd_enabled", {kSystemd, kNetworkd, kNetworkdOn}, {}, "auto", Renderer::Networkd},
    {"networkd_enabled_usr_lib",
     {"/usr/lib/systemd/systemd", "/usr/lib/systemd/systemd-networkd",
      "/etc/systemd/system/network-online.target.wants/systemd-networkd.service"},
     {},
     "auto",
     Renderer::Networkd},
    {"networkd_installed_not_enabled_debian_default",
     {kSystemd, kNetworkd, "/etc/systemd/network", kIfup, kInterfaces, kIfupdownOn},
     {},
     "auto",
     Renderer::Ifupdown},
    {"networkd_enabled_but_masked",
     {kSystemd, kNetworkd, kNetworkdOn, kIfup, kInterfaces, kIfupdownOn},
     {"systemd-networkd.service"},
     "auto",
     Renderer::Ifupdown},
    {"networkd_link_without_binary", {kSystemd, kNetworkdOn}, {}, "auto", std::nullopt},
    {"nm_enabled", {kSystemd, kNm, kNmOn, kInterfaces}, {}, "auto", Renderer::NetworkManager},
    {"nm_leftover_folder_only",
     {kSystemd, "/etc/NetworkManager", kIfup, kInterfaces, kIfupdownOn},
     {},
     "auto",
     Renderer::Ifupdown},
    {"nm_installed_not_enabled",
     {kSystemd, kNm, "/etc/NetworkManager", kIfup, kInterfaces, kIfupdownOn},
     {},
     "auto",
     Renderer::Ifupdown},
    {"networkd_and_nm_enabled",
     {kSystemd, kNetworkd, kNetworkdOn, kNm, kNmOn},
     {},
     "auto",
     Renderer::Networkd},
    {"ifupdown_not_enabled_under_systemd",
     {kSystemd, kIfup, kInterfaces},
     {},
     "auto",
     std::nullopt},
    {"ifupdown_without_systemd", {kInterfaces}, {}, "auto", Renderer::Ifupdown},
    {"nothing", {}, {}, "auto", std::nullopt},
    {"forced_ifupdown", {kSystemd, kNetworkd, kNetworkdOn}, {}, "ifupdown", Renderer::Ifupdown},
    {"forced_networkd", {}, {}, "networkd", Renderer::Networkd},
    {"forced_networkmanager", {}, {}, "networkmanager", Renderer::NetworkManager},
};

TEST(Render, ChooseRenderer) {
  for (const auto& c : kDetect) {
    const auto exists = [&](const std::string& p) { return c.files.count(p) > 0; };
    const auto masked = [&](const std::string& u) { return c.masked.count(u) > 0; };
    EXPECT_EQ(choose_renderer(c.configured, exists, masked), c.expected) << c.name;
  }
  const auto none = [](const std::string&) { return false; };
  EXPECT_THROW(choose_renderer("netplan", none, none), Error);
}

TEST(Render, InstallWritesOnlyWhatDiffers) {
  testing::TempDir root;
  const std::vector<RenderedFile> files{{"/etc/a/x.network", "x\n", 0644},
                                        {"/etc/b/y.nmconnection", "y\n", 0600}};
  EXPECT_THAT(install_network_files(root.path(), files),
              ElementsAre("wrote /etc/a/x.network", "wrote /etc/b/y.nmconnection"));
  EXPECT_TRUE(install_network_files(root.path(), files).empty());
  struct stat st {};
  ASSERT_EQ(::stat((root.path() / "etc/b/y.nmconnection").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace cloudtwin::agent
