// Attributes -> VmTemplate: type checks with the position of the offending value.
// No yaml-cpp here, so the fuzz build (core only) can compile this file.
#include <cctype>
#include <charconv>
#include <set>
#include <string>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/host/template.hpp"

namespace cloudtwin::host {
namespace {

class Converter {
 public:
  explicit Converter(std::string_view source) : source_(source) {}

  VmTemplate convert(const std::vector<TemplateAttr>& attrs) {
    VmTemplate t;
    std::set<std::string> seen;
    for (const auto& a : attrs) {
      const bool repeatable = a.name == "NIC" || a.name == "DISK" || a.name == "CONTEXT";
      if (!repeatable && !seen.insert(a.name).second) {
        fail(a.pos, a.name + " is given more than once");
      }
      if (a.name == "NAME") {
        t.name = single(a);
      } else if (a.name == "CPU") {
        t.cpu = positive_double(a);
      } else if (a.name == "VCPU") {
        t.vcpu = positive_unsigned(single(a), a.pos, a.name);
      } else if (a.name == "MEMORY") {
        t.memory_mib = positive_unsigned(single(a), a.pos, a.name);
      } else if (a.name == "OS") {
        t.os = os(a);
      } else if (a.name == "DISK") {
        t.disks.push_back(disk(a));
      } else if (a.name == "NIC") {
        t.nics.push_back(nic(a));
      } else if (a.name == "CONTEXT") {
        context(a, t);
      } else if (a.name == "EC2") {
        t.ec2 = ec2(a);
      } else if (a.name == "CONSOLE_LOG") {
        t.console_log = console_log(a);
      } else if (a.name == "NOCLOUD") {
        t.nocloud = yes_no({a.name, single(a), a.pos}, a.name);
      } else if (a.name == "VPN") {
        t.vpn = yes_no({a.name, single(a), a.pos}, a.name);
      } else if (a.name == "CONTEXT_CD") {
        t.context_cd = yes_no({a.name, single(a), a.pos}, a.name);
      } else if (a.name == "REQUIREMENTS") {
        t.requirements_host = requirements(a);
      }
    }
    return t;
  }

 private:
  [[noreturn]] void fail(SourcePos at, const std::string& what) const {
    throw ParseError(ErrorCode::InvalidArgument, std::string(source_), at.line, at.column, what);
  }

  const std::string& single(const TemplateAttr& a) const {
    if (a.is_vector) fail(a.pos, a.name + " takes a single value, not [ ... ]");
    return a.value;
  }

  void need_vector(const TemplateAttr& a) const {
    if (!a.is_vector)
      fail(a.pos, a.name + " takes a vector value: " + a.name + " = [ KEY = VALUE, ... ]");
  }

  unsigned positive_unsigned(const std::string& v, SourcePos at, const std::string& what) const {
    unsigned n = 0;
    const auto* end = v.data() + v.size();
    const auto r = std::from_chars(v.data(), end, n);
    if (r.ec != std::errc() || r.ptr != end || n == 0) {
      fail(at, what + " must be a positive whole number, got '" + v + "'");
    }
    return n;
  }

  double positive_double(const TemplateAttr& a) const {
    const auto& v = single(a);
    double d = 0;
    const auto* end = v.data() + v.size();
    const auto r = std::from_chars(v.data(), end, d);
    if (r.ec != std::errc() || r.ptr != end || !(d > 0) || d > 4096) {
      fail(a.pos, a.name + " must be a positive number such as 1 or 0.5, got '" + v + "'");
    }
    return d;
  }

  bool yes_no(const TemplatePair& p, const std::string& what) const {
    const auto v = core::upper(p.value);
    if (v == "YES" || v == "TRUE") return true;
    if (v == "NO" || v == "FALSE") return false;
    fail(p.pos, what + " must be YES or NO, got '" + p.value + "'");
  }

  OsSpec os(const TemplateAttr& a) const {
    need_vector(a);
    OsSpec o;
    for (const auto& p : a.pairs) {
      if (p.key == "KERNEL")
        o.kernel = p.value;
      else if (p.key == "INITRD")
        o.initrd = p.value;
      else if (p.key == "ROOT")
        o.root = p.value;
      else if (p.key == "KERNEL_CMD")
        o.kernel_cmd = p.value;
      else if (p.key == "ARCH")
        o.arch = p.value;
    }
    for (const auto& p : a.pairs) {
      if (p.key != "KERNEL_CMD") continue;
      for (char c : p.value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          fail(p.pos, "OS/KERNEL_CMD has a control character (newline, tab, ...); use spaces");
      }
    }
    if (o.kernel.empty() && (!o.initrd.empty() || !o.kernel_cmd.empty())) {
      fail(a.pos, "OS gives INITRD or KERNEL_CMD without KERNEL");
    }
    return o;
  }

  DiskSpec disk(const TemplateAttr& a) const {
    need_vector(a);
    DiskSpec d;
    for (const auto& p : a.pairs) {
      if (p.key == "IMAGE")
        d.image = p.value;
      else if (p.key == "SOURCE")
        d.source = p.value;
      else if (p.key == "TARGET")
        d.target = p.value;
      else if (p.key == "READONLY")
        d.readonly = yes_no(p, "DISK/READONLY");
    }
    if (d.image.empty() == d.source.empty()) {
      fail(a.pos, "DISK needs exactly one of IMAGE (a registered image) or SOURCE (a path)");
    }
    return d;
  }

  NicSpec nic(const TemplateAttr& a) const {
    need_vector(a);
    NicSpec n;
    for (const auto& p : a.pairs) {
      if (p.key == "NETWORK") {
        n.network = p.value;
      } else if (p.key == "MODEL") {
        n.model = p.value;
      } else if (p.key == "IP") {
        try {
          n.ip = core::Ipv4::parse(p.value);
        } catch (const Error&) {
          fail(p.pos, "NIC/IP is not an IPv4 address: '" + p.value + "'");
        }
      }
    }
    if (n.network.empty()) fail(a.pos, "NIC needs NETWORK = \"name\" (see cloudtwin net list)");
    return n;
  }

  void context(const TemplateAttr& a, VmTemplate& t) const {
    need_vector(a);
    for (const auto& p : a.pairs) {
      if (!core::is_shell_name(p.key))
        fail(p.pos, "CONTEXT key '" + p.key + "' is not a shell variable name");
      if (p.key == "NOCLOUD")
        t.nocloud = yes_no(p, "CONTEXT/NOCLOUD");
      else if (p.key == "VPN")
        t.vpn = yes_no(p, "CONTEXT/VPN");
      else
        t.context.emplace_back(p.key, p.value);
    }
  }

  std::string console_log(const TemplateAttr& a) const {
    const auto& v = single(a);
    const auto word = core::upper(v);
    if (word == "YES" || word == "TRUE") return "YES";
    if (word == "NO" || word == "FALSE" || v.empty()) return "";
    if (v.front() != '/' || v.find('\0') != std::string::npos) {
      fail(a.pos, "CONSOLE_LOG must be YES, NO or an absolute path, got '" + v + "'");
    }
    return v;
  }

  std::string one_of(const TemplatePair& p, const char* a, const char* b) const {
    if (p.value != a && p.value != b)
      fail(p.pos, "EC2/" + p.key + " must be " + a + " or " + b + ", got '" + p.value + "'");
    return p.value;
  }

  // "a,b" -> {a, b}; each item must be a non-empty single line without '/'.
  std::vector<std::string> items(const TemplatePair& p) const {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= p.value.size()) {
      auto end = p.value.find(',', start);
      if (end == std::string::npos) end = p.value.size();
      const auto item = p.value.substr(start, end - start);
      if (item.empty() || item.find_first_of("/\r\n") != std::string::npos)
        fail(p.pos, "EC2/" + p.key + " has an empty item or one with '/' or a line break");
      out.push_back(item);
      start = end + 1;
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> tags(const TemplatePair& p) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& item : items(p)) {
      const auto eq = item.find('=');
      if (eq == 0 || eq == std::string::npos)
        fail(p.pos, "EC2/TAGS items are KEY=VALUE, got '" + item + "'");
      out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    return out;
  }

  // REQUIREMENTS = 'NAME = "ec2"' (also HOSTNAME, OpenNebula's word): the one expression
  // cloudtwin's placement honours.
  std::string requirements(const TemplateAttr& a) const {
    const auto& v = single(a);
    const auto eq = v.find('=');
    const auto key = core::upper(core::trim(v.substr(0, eq == std::string::npos ? 0 : eq)));
    auto value =
        eq == std::string::npos ? std::string() : std::string(core::trim(v.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if ((key != "NAME" && key != "HOSTNAME") || value.empty() ||
        value.find_first_of("\"= ") != std::string::npos) {
      fail(a.pos,
           "REQUIREMENTS supports one expression, NAME = \"HOST\" (a host of `cloudtwin "
           "cloud list`, e.g. 'NAME = \"ec2\"'), got '" +
               v + "'");
    }
    return value;
  }

  int port(const TemplatePair& p, const std::string& text) const {
    unsigned n = 0;
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, n);
    if (r.ec != std::errc() || r.ptr != end || n == 0 || n > 65535)
      fail(p.pos, "EC2/AUTHORIZED_PORTS: '" + text + "' is not a port from 1 to 65535");
    return static_cast<int>(n);
  }

  // "22,8000-8080" -> {22-22, 8000-8080}.
  std::vector<PortRange> ports(const TemplatePair& p) const {
    std::vector<PortRange> out;
    for (const auto& raw : items(p)) {
      const auto item = std::string(core::trim(raw));
      const auto dash = item.find('-');
      PortRange r;
      r.from = port(p, item.substr(0, dash));
      r.to = dash == std::string::npos ? r.from : port(p, item.substr(dash + 1));
      if (r.to < r.from)
        fail(p.pos, "EC2/AUTHORIZED_PORTS: range '" + item + "' ends before it starts");
      out.push_back(r);
    }
    return out;
  }

  std::string elastic_ip(const TemplatePair& p) const {
    const auto word = core::upper(p.value);
    if (word == "YES" || word == "TRUE") return "YES";
    try {
      return core::Ipv4::parse(p.value).to_string();
    } catch (const Error&) {
      fail(p.pos,
           "EC2/ELASTICIP must be YES (allocate one) or an Elastic IP address of the "
           "account, got '" +
               p.value + "'");
    }
  }

  Ec2Spec ec2(const TemplateAttr& a) const {
    need_vector(a);
    Ec2Spec e;
    for (const auto& p : a.pairs) {
      if (p.key == "AMI")
        e.ami = p.value;
      else if (p.key == "KEYPAIR")
        e.keypair = p.value;
      else if (p.key == "INSTANCETYPE")
        e.instance_type = p.value;
      else if (p.key == "ELASTICIP")
        e.elastic_ip = elastic_ip(p);
      else if (p.key == "AUTHORIZED_PORTS")
        e.authorized_ports = ports(p);
      else if (p.key == "AVAILABILITYZONE")
        e.availability_zone = items(p).front();
      else if (p.key == "SUBNET")
        e.subnet = items(p).front();
      else if (p.key == "SECURITYGROUPS")
        e.security_groups = items(p);
      else if (p.key == "TAGS")
        e.tags = tags(p);
      else if (p.key == "HTTP_TOKENS")
        e.http_tokens = one_of(p, "optional", "required");
      else if (p.key == "HTTP_ENDPOINT")
        e.http_endpoint = one_of(p, "enabled", "disabled");
      else if (p.key == "INSTANCE_METADATA_TAGS")
        e.instance_metadata_tags = one_of(p, "enabled", "disabled");
      else if (p.key == "HTTP_PUT_RESPONSE_HOP_LIMIT") {
        const auto n = positive_unsigned(p.value, p.pos, "EC2/" + p.key);
        if (n > 64) fail(p.pos, "EC2/HTTP_PUT_RESPONSE_HOP_LIMIT must be 1-64");
        e.http_put_response_hop_limit = static_cast<int>(n);
      }
    }
    return e;
  }

  std::string_view source_;
};

}  // namespace

VmTemplate vm_template_from_attrs(const std::vector<TemplateAttr>& attrs, std::string_view source) {
  return Converter(source).convert(attrs);
}

VmTemplate parse_vm_template(std::string_view text, std::string_view source) {
  return vm_template_from_attrs(parse_template_attrs(text, source), source);
}

}  // namespace cloudtwin::host
