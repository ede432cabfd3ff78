#pragma once
// In-memory Hypervisor, IsoWriter and Storage sharing one call counter: the Nth mutating
// call (counted over all three) throws, so a test can make every step fail in turn.
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/console.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/network_xml.hpp"

namespace cloudtwin::host::testing {

struct FailCounter {
  int calls = 0;
  int fail_at = 0;  // 0: never
  void step(const std::string& what) {
    if (++calls == fail_at)
      throw Error(ErrorCode::System,
                  "injected failure at call " + std::to_string(calls) + ": " + what);
  }
};

class FakeHypervisor : public Hypervisor {
 public:
  explicit FakeHypervisor(FailCounter& f) : f_(f) {}
  struct Net {
    std::string xml;
    bool active = false;
    std::vector<std::string> hosts;
  };
  struct Dom {
    std::string xml;
    bool active = false;
  };
  std::map<std::string, Net> nets;
  std::map<std::string, Dom> doms;

  void define_network(const std::string& xml) override {
    f_.step("define_network");
    const auto spec = parse_network_xml(xml);
    nets[spec.name] = {xml, false, {}};
  }
  void start_network(const std::string& name) override {
    f_.step("start_network");
    net(name).active = true;
  }
  void destroy_network(const std::string& name) override {
    f_.step("destroy_network");
    net(name).active = false;
  }
  void undefine_network(const std::string& name) override {
    f_.step("undefine_network");
    net(name);
    nets.erase(name);
  }
  std::vector<NetworkInfo> list_networks() override {
    std::vector<NetworkInfo> out;
    for (const auto& [name, n] : nets) {
      std::string xml = n.xml;
      // Reflect reservations the way libvirt does: in the network XML.
      const auto at = xml.find("    </dhcp>");
      std::string hosts;
      for (const auto& h : n.hosts) hosts += "      " + h + "\n";
      if (at != std::string::npos) xml.insert(at, hosts);
      out.push_back({name, n.active, xml});
    }
    return out;
  }
  void add_dhcp_host(const std::string& network, const std::string& host_xml) override {
    f_.step("add_dhcp_host");
    if (net(network).xml.find("<dhcp>") == std::string::npos)
      throw Error(ErrorCode::System, "network '" + network + "' has no <dhcp> (as libvirt says)");
    auto& hosts = net(network).hosts;
    if (std::find(hosts.begin(), hosts.end(), host_xml) != hosts.end())
      throw Error(ErrorCode::System, "duplicate host");
    hosts.push_back(host_xml);
  }
  void remove_dhcp_host(const std::string& network, const std::string& host_xml) override {
    f_.step("remove_dhcp_host");
    auto& hosts = net(network).hosts;
    const auto it = std::find(hosts.begin(), hosts.end(), host_xml);
    if (it == hosts.end()) throw Error(ErrorCode::NotFound, "no such host");
    hosts.erase(it);
  }
  void define_domain(const std::string& xml) override {
    f_.step("define_domain");
    const auto a = xml.find("<name>") + 6;
    const auto name = xml.substr(a, xml.find("</name>") - a);
    if (doms.count(name) != 0) throw Error(ErrorCode::System, "domain exists");
    doms[name] = {xml, false};
  }
  void start_domain(const std::string& name) override {
    f_.step("start_domain");
    dom(name).active = true;
  }
  void destroy_domain(const std::string& name) override {
    f_.step("destroy_domain");
    dom(name).active = false;
  }
  void undefine_domain(const std::string& name) override {
    f_.step("undefine_domain");
    dom(name);
    doms.erase(name);
  }
  void shutdown_domain(const std::string& name) override {
    f_.step("shutdown_domain");
    dom(name).active = false;  // a guest that obeys ACPI at once
  }
  void reboot_domain(const std::string& name) override {
    f_.step("reboot_domain");
    ++reboots[name];
  }
  std::string domain_xml(const std::string& name) override { return dom(name).xml; }
  std::unique_ptr<ConsoleStream> open_console(const std::string& name, bool force) override {
    f_.step("open_console");
    dom(name);
    consoles_forced.push_back(force);
    return std::make_unique<ScriptedConsole>(console_script);
  }
  NodeInfo node_info() override { return node; }
  NodeInfo node{4, 8192};
  std::map<std::string, int> reboots;
  std::vector<bool> consoles_forced;
  // What the next console prints, chunk by chunk; nullopt closes it.
  std::deque<std::optional<std::string>> console_script;
  std::vector<std::string> console_sent;

  class ScriptedConsole : public ConsoleStream {
   public:
    explicit ScriptedConsole(std::deque<std::optional<std::string>> script)
        : script_(std::move(script)) {}
    std::optional<std::string> receive(int) override {
      if (script_.empty()) return std::string();
      auto next = script_.front();
      script_.pop_front();
      return next;
    }
    void send(std::string_view bytes) override { sent.append(bytes); }
    std::string sent;

   private:
    std::deque<std::optional<std::string>> script_;
  };

  std::vector<DomainInfo> list_domains() override {
    std::vector<DomainInfo> out;
    for (const auto& [name, d] : doms) {
      DomainInfo info{name, d.active, std::nullopt, number_in(d.xml, "<vcpu>"),
                      number_in(d.xml, "<memory unit='MiB'>")};
      const auto a = d.xml.find("<cloudtwin:instance");
      if (a != std::string::npos) {
        const auto end = std::string("</cloudtwin:instance>");
        const auto b = d.xml.find(end, a);
        info.record_element = d.xml.substr(a, b + end.size() - a);
      }
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  static unsigned number_in(const std::string& xml, const std::string& tag) {
    const auto at = xml.find(tag);
    return at == std::string::npos ? 0U
                                   : static_cast<unsigned>(std::stoul(xml.substr(at + tag.size())));
  }
  Net& net(const std::string& name) {
    const auto it = nets.find(name);
    if (it == nets.end()) throw Error(ErrorCode::NotFound, "network '" + name + "'");
    return it->second;
  }
  Dom& dom(const std::string& name) {
    const auto it = doms.find(name);
    if (it == doms.end()) throw Error(ErrorCode::NotFound, "VM '" + name + "'");
    return it->second;
  }
  FailCounter& f_;
};

class FakeStorage : public Storage, public IsoWriter {
 public:
  explicit FakeStorage(FailCounter& f) : f_(f) {}
  std::set<std::string> dirs;
  std::map<std::string, std::string> files;  // path -> content summary
  std::map<std::string, std::vector<IsoWriter::File>> isos;
  int locks_held = 0;

  void create_dir(const std::string& path) override {
    f_.step("create_dir");
    if (!dirs.insert(path).second) throw Error(ErrorCode::Io, "exists " + path);
  }
  void remove_dir(const std::string& path) override {
    f_.step("remove_dir");
    for (const auto& [p, c] : files) {
      if (p.rfind(path + "/", 0) == 0) throw Error(ErrorCode::Io, "not empty " + path);
    }
    dirs.erase(path);
  }
  void create_overlay(const std::string& base, const std::string& path) override {
    f_.step("create_overlay");
    files[path] = "overlay of " + base;
  }
  void remove_overlay(const std::string& path) override {
    f_.step("remove_overlay");
    files.erase(path);
  }
  void remove_file(const std::string& path) override {
    f_.step("remove_file");
    files.erase(path);
    isos.erase(path);
  }
  bool exists(const std::string& path) override {
    return files.count(path) != 0 || dirs.count(path) != 0;
  }
  std::vector<std::string> list_files(const std::string& dir) override {
    std::vector<std::string> out;
    for (const auto& [p, c] : files) {
      if (p.rfind(dir + "/", 0) != 0) continue;
      const auto name = p.substr(dir.size() + 1);
      if (name.find('/') == std::string::npos && name.front() != '.') out.push_back(name);
    }
    return out;
  }
  void rename(const std::string& from, const std::string& to) override {
    f_.step("rename");
    const auto it = files.find(from);
    if (it == files.end()) throw Error(ErrorCode::Io, "no file " + from);
    files[to] = it->second;
    files.erase(it);
  }
  std::shared_ptr<void> lock(const std::string&) override {
    ++locks_held;
    return std::shared_ptr<void>(nullptr, [this](void*) { --locks_held; });
  }
  void write(const std::string& path, const std::string& volume_id,
             const std::vector<File>& content) override {
    f_.step("write_iso");
    files[path] = "iso " + volume_id;
    isos[path] = content;
  }

 private:
  FailCounter& f_;
};

// qemu-img over FakeStorage: files whose content starts with "image FORMAT SIZE".
class FakeImageTool : public ImageTool {
 public:
  FakeImageTool(FailCounter& f, FakeStorage& s) : f_(f), s_(s) {}
  std::string info_json(const std::string& path, const std::string& format) override {
    const auto it = s_.files.find(path);
    if (it == s_.files.end()) throw Error(ErrorCode::InvalidArgument, "qemu-img info " + path);
    std::string kind, fmt, size;
    std::istringstream(it->second) >> kind >> fmt >> size;
    if (kind != "image") throw Error(ErrorCode::InvalidArgument, "not an image: " + path);
    if (!format.empty() && format != fmt) throw Error(ErrorCode::InvalidArgument, "not " + format);
    return "{\"virtual-size\": " + size + ", \"filename\": \"" + path + "\", \"format\": \"" + fmt +
           "\", \"actual-size\": 4096, \"dirty-flag\": false}";
  }
  void convert_to_qcow2(const std::string& src, const std::string& format, const std::string& dst,
                        const std::function<void(double)>& progress) override {
    f_.step("convert");
    std::string kind, fmt, size;
    std::istringstream(s_.files.at(src)) >> kind >> fmt >> size;
    converted.push_back(format);
    s_.files[dst] = "image qcow2 " + size;
    if (progress) {
      progress(0);
      progress(50);
      progress(100);
    }
  }
  std::vector<std::string> converted;

 private:
  FailCounter& f_;
  FakeStorage& s_;
};

// Host links and their addresses; apply() counts as a mutating call.
class FakeLinkAddresses : public LinkAddresses {
 public:
  explicit FakeLinkAddresses(FailCounter& f) : f_(f) {}
  std::map<std::string, ObservedLink> links;
  std::vector<AddressOp> applied;

  void add_link(const std::string& name, bool bridge, std::vector<LinkAddress> addresses = {}) {
    links[name] = {name, bridge, std::move(addresses)};
  }
  std::optional<ObservedLink> observe(const std::string& link) override {
    const auto it = links.find(link);
    if (it == links.end()) return std::nullopt;
    return it->second;
  }
  void apply(const AddressOp& op) override {
    f_.step("link_" + op.to_string());
    applied.push_back(op);
    const auto it = links.find(op.link);
    if (it == links.end()) {
      if (op.kind == AddressOpKind::Remove) return;
      throw Error(ErrorCode::NotFound, "no link " + op.link);
    }
    auto& a = it->second.addresses;
    const auto at = std::find(a.begin(), a.end(), op.address);
    if (op.kind == AddressOpKind::Add && at == a.end()) a.push_back(op.address);
    if (op.kind == AddressOpKind::Remove && at != a.end()) a.erase(at);
    std::sort(a.begin(), a.end());
  }

 private:
  FailCounter& f_;
};

class LinkAddressesRef : public LinkAddresses {
 public:
  explicit LinkAddressesRef(LinkAddresses& l) : l_(l) {}
  std::optional<ObservedLink> observe(const std::string& link) override { return l_.observe(link); }
  void apply(const AddressOp& op) override { l_.apply(op); }

 private:
  LinkAddresses& l_;
};

class FakeVpn : public VpnIssuer {
 public:
  explicit FakeVpn(FailCounter& f) : f_(f) {}
  bool ready = true;
  std::map<std::string, std::string> issued;  // instance id -> ip
  std::vector<std::string> revoked;
  std::string state_dir() override { return "/vpn"; }
  bool initialised() override { return ready; }
  std::string issue(const std::string& id, const std::string& ip) override {
    f_.step("vpn_issue");
    issued[id] = ip;
    return "client\n# profile for " + id + "\n";
  }
  void revoke(const std::string& id) override {
    f_.step("vpn_revoke");
    if (issued.erase(id) == 0) throw Error(ErrorCode::NotFound, "VM " + id + " has no profile");
    revoked.push_back(id);
  }

 private:
  FailCounter& f_;
};

// A terminal whose input is scripted; what it is given to print is kept.
class ScriptedTerminal : public Terminal {
 public:
  explicit ScriptedTerminal(std::deque<std::optional<std::string>> input)
      : input_(std::move(input)) {}
  std::optional<std::string> read(int) override {
    if (input_.empty()) return std::nullopt;
    auto next = input_.front();
    input_.pop_front();
    return next;
  }
  void write(std::string_view bytes) override { output.append(bytes); }
  std::string output;

 private:
  std::deque<std::optional<std::string>> input_;
};

class CountingRandom : public Random {
 public:
  std::uint64_t next_u64() override { return ++n_ * 0x1111111111111111ULL; }

 private:
  std::uint64_t n_ = 0;
};

// Hands out a non-owning view of a long-lived fake, for CliEnv factories.
class HypervisorRef : public Hypervisor {
 public:
  explicit HypervisorRef(Hypervisor& h) : h_(h) {}
  void define_network(const std::string& x) override { h_.define_network(x); }
  void start_network(const std::string& n) override { h_.start_network(n); }
  void destroy_network(const std::string& n) override { h_.destroy_network(n); }
  void undefine_network(const std::string& n) override { h_.undefine_network(n); }
  std::vector<NetworkInfo> list_networks() override { return h_.list_networks(); }
  void add_dhcp_host(const std::string& n, const std::string& x) override {
    h_.add_dhcp_host(n, x);
  }
  void remove_dhcp_host(const std::string& n, const std::string& x) override {
    h_.remove_dhcp_host(n, x);
  }
  void define_domain(const std::string& x) override { h_.define_domain(x); }
  void start_domain(const std::string& n) override { h_.start_domain(n); }
  void destroy_domain(const std::string& n) override { h_.destroy_domain(n); }
  void undefine_domain(const std::string& n) override { h_.undefine_domain(n); }
  std::vector<DomainInfo> list_domains() override { return h_.list_domains(); }
  void shutdown_domain(const std::string& n) override { h_.shutdown_domain(n); }
  void reboot_domain(const std::string& n) override { h_.reboot_domain(n); }
  std::string domain_xml(const std::string& n) override { return h_.domain_xml(n); }
  std::unique_ptr<ConsoleStream> open_console(const std::string& n, bool force) override {
    return h_.open_console(n, force);
  }
  NodeInfo node_info() override { return h_.node_info(); }

 private:
  Hypervisor& h_;
};

class StorageRef : public Storage, public IsoWriter {
 public:
  explicit StorageRef(FakeStorage& s) : s_(s) {}
  void create_dir(const std::string& p) override { s_.create_dir(p); }
  void remove_dir(const std::string& p) override { s_.remove_dir(p); }
  void create_overlay(const std::string& b, const std::string& p) override {
    s_.create_overlay(b, p);
  }
  void remove_overlay(const std::string& p) override { s_.remove_overlay(p); }
  void remove_file(const std::string& p) override { s_.remove_file(p); }
  bool exists(const std::string& p) override { return s_.exists(p); }
  std::vector<std::string> list_files(const std::string& d) override { return s_.list_files(d); }
  void rename(const std::string& f, const std::string& t) override { s_.rename(f, t); }
  std::shared_ptr<void> lock(const std::string& p) override { return s_.lock(p); }
  void write(const std::string& p, const std::string& v, const std::vector<File>& f) override {
    s_.write(p, v, f);
  }

 private:
  FakeStorage& s_;
};

}  // namespace cloudtwin::host::testing
