// Placement as a table: the hosts' figures and the request in, the chosen host and the
// exact reason (or error) out. Plus host.conf [ec2] and `cloud add`'s INI edit.
#include "cloudtwin/host/placement.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/host_conf.hpp"

namespace cloudtwin::host {
namespace {

PlacementCandidate local(unsigned vu, unsigned va, std::uint64_t mu, std::uint64_t ma) {
  return {"local", "libvirt", {"local", vu, va, mu, ma, {}}};
}
PlacementCandidate ec2(std::map<std::string, std::pair<unsigned, unsigned>> types) {
  return {"ec2", "ec2", {"ec2:eu-west-1", 0, 0, 0, 0, std::move(types)}};
}

PlacementRequest req(std::string pinned = "", bool ec2_ready = true) {
  PlacementRequest r;
  r.vm = "web";
  r.vcpu = 1;
  r.memory_mib = 512;
  r.ec2_ready = ec2_ready;
  r.instance_type = "t3.micro";
  r.pinned = std::move(pinned);
  r.pinned_by = "--on";
  return r;
}

TEST(Placement, Table) {
  const std::map<std::string, std::pair<unsigned, unsigned>> caps = {{"m5.large", {0, 1}},
                                                                     {"t3.micro", {1, 4}}};
  struct Case {
    std::vector<PlacementCandidate> hosts;
    PlacementRequest request;
    std::size_t index;  // 99: an error
    std::string text;   // the reason, or a part of the error
  };
  const Case cases[] = {
      {{local(0, 2, 0, 1024), ec2(caps)},
       req(),
       0,
       "first host with room; local: vCPU 0/2, memory 0/1024 MiB"},
      {{local(2, 2, 512, 1024), ec2(caps)},
       req(),
       1,
       "local skipped: full for 1 vCPU, 512 MiB; ec2 (ec2:eu-west-1): m5.large 0/1, "
       "t3.micro 1/4"},
      {{local(1, 2, 768, 1024), ec2(caps)},
       req(),
       1,
       "local skipped: full for 1 vCPU, 512 MiB; ec2 (ec2:eu-west-1): m5.large 0/1, "
       "t3.micro 1/4"},
      {{local(0, 0, 0, 0), ec2({})},
       req(),
       0,
       "first host with room; local: vCPU 0/unlimited, memory 0/unlimited MiB"},
      {{local(0, 2, 0, 1024), ec2(caps)},
       req("ec2"),
       1,
       "--on ec2: ec2 (ec2:eu-west-1): m5.large 0/1, t3.micro 1/4"},
      {{local(2, 2, 0, 1024), ec2({})},
       req(),
       1,
       "local skipped: full for 1 vCPU, 512 MiB; ec2 (ec2:eu-west-1): no instances, no caps"},
      {{local(0, 2, 0, 1024), ec2(caps)}, req("local"), 0, "--on local: local: vCPU 0/2"},
      // Nothing fits: every host's figures.
      {{local(2, 2, 0, 1024), ec2({{"t3.micro", {4, 4}}})},
       req(),
       99,
       "no host can take VM 'web' (1 vCPU, 512 MiB, or one t3.micro on EC2): local: vCPU "
       "2/2, memory 0/1024 MiB; ec2 (ec2:eu-west-1): t3.micro 4/4; raise"},
      {{local(2, 2, 0, 1024), ec2(caps)}, req("", false), 99, "or give the template EC2 = ["},
      {{local(0, 2, 0, 1024), ec2({{"m5.large", {0, 1}}})},
       req("ec2"),
       99,
       "pinned to ec2 by --on, which cannot take it: t3.micro is not in [ec2] max_instances"},
      {{local(0, 2, 0, 1024), ec2({{"t3.micro", {4, 4}}})},
       req("ec2"),
       99,
       "t3.micro is at its cap"},
      {{local(0, 2, 0, 1024)},
       req("ec2"),
       99,
       "--on names host 'ec2', which is not configured (hosts: local;"},
      {{local(0, 2, 0, 1024), ec2(caps)},
       req("ec2", false),
       99,
       "the template has no EC2 = [ AMI = ... ]"},
  };
  int n = 0;
  for (const auto& c : cases) {
    ++n;
    try {
      const auto p = place(c.hosts, c.request);
      EXPECT_EQ(p.index, c.index) << n;
      EXPECT_EQ(p.reason.substr(0, c.text.size()), c.text) << n << ": " << p.reason;
    } catch (const Error& e) {
      EXPECT_EQ(c.index, 99U) << n << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.text), std::string::npos) << n << ": " << e.what();
    }
  }
}

TEST(Placement, HostConfEc2Section) {
  const auto c = parse_host_conf(
      "[ec2]\nregion = eu-west-1\nendpoint = http://127.0.0.1:8773/\nprofile = ops\n"
      "max_instances = t3.micro:4, m5.large:1\ndefault_instance_type = t3.small\n");
  EXPECT_EQ(c.ec2.region, "eu-west-1");
  EXPECT_EQ(c.ec2.endpoint, "http://127.0.0.1:8773/");
  EXPECT_EQ(c.ec2.profile, "ops");
  EXPECT_EQ(c.ec2.instance_type, "t3.small");
  EXPECT_EQ(c.ec2.max_instances,
            (std::vector<std::pair<std::string, unsigned>>{{"t3.micro", 4}, {"m5.large", 1}}));
  EXPECT_TRUE(c.sections.count("ec2"));
  for (const auto* bad : {"t3.micro", "t3.micro:x", ":4", "t3.micro:1,t3.micro:2"}) {
    try {
      parse_host_conf(std::string("[ec2]\nmax_instances = ") + bad + "\n", "h.conf");
      ADD_FAILURE() << bad;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), 2U) << bad;
      EXPECT_NE(std::string(e.what()).find("[ec2] max_instances"), std::string::npos) << e.what();
    }
  }
}

TEST(Placement, CloudAddEditsOnlyItsSection) {
  const std::vector<std::pair<std::string, std::string>> v = {{"region", "eu-west-1"},
                                                              {"profile", "ops"}};
  const std::pair<const char*, const char*> cases[] = {
      {"", "[ec2]\nregion = eu-west-1\nprofile = ops\n"},
      {"# host\n[capacity]\nvcpu = 4\n",
       "# host\n[capacity]\nvcpu = 4\n\n[ec2]\nregion = eu-west-1\nprofile = ops\n"},
      {"[ec2]\n# where\nregion = us-east-1\nmax_instances = t3.micro:4\n[vpn]\nstate_dir = /v\n",
       "[ec2]\n# where\nregion = eu-west-1\nmax_instances = t3.micro:4\nprofile = ops\n[vpn]\n"
       "state_dir = /v\n"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(set_ini_values(in, "ec2", v), out) << in;
}

}  // namespace
}  // namespace cloudtwin::host
