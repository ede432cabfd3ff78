#pragma once
// A VM template: OpenNebula's template syntax (or the same model in YAML) parsed into
// typed fields. Pure: text in, model out; errors are ParseError with line and column.
//
//   CPU = 1                                   # single attribute
//   NIC = [ NETWORK = "lan", IP = "10.0.0.5" ]  # vector attribute, may repeat
//   CONTEXT = [ SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]",
//               START_SCRIPT = "multi
//   line" ]

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::host {

// Where a name or value came from, 1-based.
struct SourcePos {
  std::size_t line = 0;
  std::size_t column = 0;
  auto operator<=>(const SourcePos&) const = default;
};

struct TemplatePair {
  std::string key;  // upper case
  std::string value;
  SourcePos pos;  // of the value
  auto operator<=>(const TemplatePair&) const = default;
};

// One top-level attribute: either a single value or a vector of pairs.
struct TemplateAttr {
  std::string name;  // upper case
  bool is_vector = false;
  std::string value;                // when !is_vector
  std::vector<TemplatePair> pairs;  // when is_vector, in source order
  SourcePos pos;                    // of the name
  auto operator<=>(const TemplateAttr&) const = default;
};

// Parses OpenNebula template syntax into attributes, in source order.
// Names are case-insensitive ([A-Za-z0-9_]+, returned upper case); values are 'taken as
// written', "quoted" (may span lines; \" and \\ escape) or bare words; '#' starts a comment outside
// quotes.
std::vector<TemplateAttr> parse_template_attrs(std::string_view text,
                                               std::string_view source = "template");

// Parses the YAML form: a mapping whose values are scalars, mappings (a vector
// attribute) or sequences of mappings (a repeated vector attribute, e.g. NIC, DISK).
std::vector<TemplateAttr> parse_template_attrs_yaml(std::string_view text,
                                                    std::string_view source = "template.yaml");

struct OsSpec {
  std::string kernel;
  std::string initrd;
  std::string root;
  std::string kernel_cmd;
  std::string arch;  // default x86_64
  auto operator<=>(const OsSpec&) const = default;
};

struct DiskSpec {
  std::string image;   // name of a registered base image
  std::string source;  // or a path on the host
  std::string target;  // e.g. vda; empty: assigned in order
  bool readonly = false;
  auto operator<=>(const DiskSpec&) const = default;
};

struct NicSpec {
  std::string network;
  std::optional<core::Ipv4> ip;  // requested address, else leased
  std::string model;             // default virtio
  auto operator<=>(const NicSpec&) const = default;
};

// One AUTHORIZED_PORTS item: a TCP port or range, opened to anyone (0.0.0.0/0).
struct PortRange {
  int from = 0;
  int to = 0;
  auto operator<=>(const PortRange&) const = default;
};

struct Ec2Spec {
  std::string ami;
  std::string keypair;
  std::string instance_type;
  // ELASTICIP = YES: an address allocated for the VM (released by `vm delete`); an IPv4
  // address: that Elastic IP of the account, associated (only disassociated on delete).
  std::string elastic_ip;
  std::vector<PortRange> authorized_ports;                // AUTHORIZED_PORTS = "22,8000-8080"
  std::string availability_zone;                          // AVAILABILITYZONE
  std::string subnet;                                     // SUBNET = "subnet-..."
  std::vector<std::string> security_groups;               // SECURITYGROUPS = "a,b"
  std::vector<std::pair<std::string, std::string>> tags;  // TAGS = "Name=web,Env=dev"
  // Instance metadata options, named as in AWS's --metadata-options; empty/0: not set,
  // cloudtwin-metadata's [imds] defaults apply.
  std::string http_tokens;              // HTTP_TOKENS = optional | required
  std::string http_endpoint;            // HTTP_ENDPOINT = enabled | disabled
  int http_put_response_hop_limit = 0;  // HTTP_PUT_RESPONSE_HOP_LIMIT = 1..64
  std::string instance_metadata_tags;   // INSTANCE_METADATA_TAGS = enabled | disabled
  auto operator<=>(const Ec2Spec&) const = default;
};

struct VmTemplate {
  std::string name;
  double cpu = 1.0;
  unsigned vcpu = 1;
  unsigned memory_mib = 512;
  std::optional<OsSpec> os;
  std::vector<DiskSpec> disks;
  std::vector<NicSpec> nics;
  std::vector<std::pair<std::string, std::string>> context;  // CONTEXT, source order
  std::optional<Ec2Spec> ec2;
  // CONSOLE_LOG = "/abs/path" | YES (a file in the instance dir): the serial console is also
  // written to that file. Empty: no log.
  std::string console_log;
  // NOCLOUD = YES / VPN = YES, as top-level attributes or CONTEXT keys (host-side switches:
  // they are not written to context.sh). NOCLOUD adds a `cidata` seed CD; VPN issues an
  // overlay profile (issue 6) delivered as CONTEXT VPN_PROFILE_BASE64.
  bool nocloud = false;
  bool vpn = false;
  // CONTEXT_CD = NO: no OpenNebula context CD at all, as on EC2 (the guest then finds its
  // context in the metadata service, or on the NoCloud disk). Default YES.
  bool context_cd = true;
  // REQUIREMENTS = 'NAME = "ec2"': the host (name or kind) the VM must run on; empty: any.
  std::string requirements_host;
  bool operator==(const VmTemplate&) const = default;
};

// Typed view of parsed attributes. Unknown top-level attributes are ignored (OpenNebula
// templates carry many a hypervisor does not use); bad values throw ParseError at the value.
VmTemplate vm_template_from_attrs(const std::vector<TemplateAttr>& attrs,
                                  std::string_view source = "template");

// parse_template_attrs + vm_template_from_attrs.
VmTemplate parse_vm_template(std::string_view text, std::string_view source = "template");
VmTemplate parse_vm_template_yaml(std::string_view text, std::string_view source = "template.yaml");
// YAML when `source` ends in .yaml/.yml, else OpenNebula syntax.
VmTemplate parse_vm_template_auto(std::string_view text, std::string_view source);

}  // namespace cloudtwin::host
